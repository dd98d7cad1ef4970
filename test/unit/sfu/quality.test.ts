import { describe, expect, it } from 'vitest';
import type { Participant } from '../../../src/protocol/signaling.js';
import type { Publication } from '../../../src/sfu/publication.js';
import { memberSample, UplinkMeter, VIDEO_RAMP_MS } from '../../../src/sfu/quality.js';
import type { Subscription } from '../../../src/sfu/subscription.js';

const person: Participant = { id: 'a', name: 'a', role: 'participant', audio: true, video: true, screen: false, metadata: {} };

/** A publication as the meter and the sample read it: cumulative counters, a kind, when it began. */
function pub(kind: 'audio' | 'video', u: { expected: number; received: number; bytes: number; jitterMs: number }, flowingSince = 0): Publication {
  return { kind, flowingSince, uplink: () => u } as unknown as Publication;
}
const sub = (kind: 'audio' | 'video', received: { lossPercent: number; jitterMs: number; rttMs: number | undefined }) =>
  ({ publication: { kind }, received, receiving: () => true }) as unknown as Subscription;

describe('SFU quality readings', () => {
  it('the uplink meter reads loss and bitrate over each interval, and jitter from audio only (video frames leave in bursts)', () => {
    const meter = new UplinkMeter();
    const audio = { expected: 100, received: 100, bytes: 10_000, jitterMs: 3 };
    const video = { expected: 500, received: 500, bytes: 200_000, jitterMs: 55 };
    expect(meter.read([pub('audio', audio), pub('video', video)], 0)).toBeUndefined(); // one end of the first interval
    Object.assign(audio, { expected: 200, received: 190, bytes: 20_000 });
    Object.assign(video, { expected: 1000, received: 1000, bytes: 450_000 });
    const up = meter.read([pub('audio', audio), pub('video', video)], 2000)!;
    expect(up.packetLoss).toBeCloseTo((100 * 10) / 600, 5);
    expect(up.jitterMs).toBe(3);
    expect(up.bitrateKbps).toBe(((260_000 * 8) / 1000) / 2);
  });

  it('downlink: the worst loss of any stream, jitter from audio streams, the mean RTT; video counts once it has flowed for the ramp-up', () => {
    const subs = [sub('audio', { lossPercent: 1, jitterMs: 4, rttMs: 20 }), sub('video', { lossPercent: 6, jitterMs: 70, rttMs: 40 })];
    const up = { packetLoss: 2, jitterMs: 5, bitrateKbps: 80 };
    const early = memberSample(person, up, subs, [pub('video', { expected: 0, received: 0, bytes: 0, jitterMs: 0 }, 1000)], 1000 + VIDEO_RAMP_MS - 1);
    expect(early).toEqual({ packetLoss: 6, jitterMs: 5, rttMs: 30, bitrateKbps: 80, video: false, expectingMedia: true });
    const later = memberSample(person, up, subs, [pub('video', { expected: 0, received: 0, bytes: 0, jitterMs: 0 }, 1000)], 1000 + VIDEO_RAMP_MS);
    expect(later.video).toBe(true);
  });
});
