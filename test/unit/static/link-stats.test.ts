/** What the call page reports of each mesh link (`stats`) from two getStats() samples. */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module of the pages (no types)
import { readSample, statsFigures, videoSize } from '../../../static/js/link-stats.js';

/** A getStats() report as Chromium gives it: the selected pair, an audio and a video inbound-rtp, an outbound video. */
function report(o: { audio: [number, number, number]; video?: [number, number, number, number?]; rtt?: number; jitter?: number }) {
  const entries: Record<string, unknown>[] = [
    { id: 'T1', type: 'transport', selectedCandidatePairId: 'CP1' },
    { id: 'CP1', type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: o.rtt },
    { id: 'CP2', type: 'candidate-pair', nominated: false, state: 'failed', currentRoundTripTime: 9 },
    { id: 'IA', type: 'inbound-rtp', kind: 'audio', mid: '0', packetsReceived: o.audio[0], packetsLost: o.audio[1], bytesReceived: o.audio[2], headerBytesReceived: 12 * o.audio[0], jitter: o.jitter ?? 0.004 },
    { id: 'OV', type: 'outbound-rtp', kind: 'video', frameWidth: 640, frameHeight: 360, framesPerSecond: 30 },
    { id: 'OV2', type: 'outbound-rtp', kind: 'video', frameWidth: 1280, frameHeight: 720, framesPerSecond: 29 },
  ];
  if (o.video) {
    entries.push({
      id: 'IV', type: 'inbound-rtp', kind: 'video', mid: '1', packetsReceived: o.video[0], packetsLost: o.video[1], bytesReceived: o.video[2], headerBytesReceived: 0,
      jitter: 0.02, framesDecoded: o.video[3], frameWidth: 1280, frameHeight: 720, framesPerSecond: 30,
    });
  }
  return entries;
}

describe('readSample', () => {
  it('takes the selected pair\'s round trip, each received stream by mid, and the largest video sent', () => {
    const s = readSample(report({ audio: [100, 2, 8000], video: [500, 0, 400_000, 60], rtt: 0.045 }), 1000);
    expect(s.rttMs).toBeCloseTo(45);
    expect(s.inbound.get('0')).toMatchObject({ kind: 'audio', packetsReceived: 100, packetsLost: 2, bytes: 9200, jitterMs: 4 });
    expect(s.inbound.get('1')).toMatchObject({ kind: 'video', framesDecoded: 60, width: 1280, height: 720 });
    expect(s.sent).toEqual({ width: 1280, height: 720, fps: 29 });
    expect(videoSize(s)).toEqual({ width: 1280, height: 720, fps: 30 });
    expect(videoSize(s, ['0'])).toBeUndefined();
    expect(readSample(report({ audio: [0, 0, 0] }), 0).rttMs).toBeUndefined();
  });
});

describe('statsFigures', () => {
  it('loss, jitter, round trip and bitrate over the interval; frames a second when the camera is on', () => {
    const prev = readSample(report({ audio: [100, 0, 8000], video: [500, 0, 400_000, 60], rtt: 0.01 }), 0);
    // 2 s later: audio 100 more packets and 4 lost, video 500 more and 6 lost; 60 more frames.
    const cur = readSample(report({ audio: [200, 4, 16_000], video: [1000, 6, 900_000], rtt: 0.012, jitter: 0.0061 }).map((e) => (e.id === 'IV' ? { ...e, framesDecoded: 120 } : e)), 2000);
    const f = statsFigures(prev, cur, true)!;
    // 10 of 610 packets lost: 1.6 %; the audio's jitter; 508,000 + 1200 header bytes in 2 s: 2036.8 kbit/s; 30 fps.
    expect(f).toEqual({ packetLoss: 1.6, jitterMs: 6.1, rttMs: 12, bitrateKbps: 2036.8, framesPerSecond: 30 });
    // Camera off: no frame rate.
    expect(statsFigures(prev, cur, false)).not.toHaveProperty('framesPerSecond');
  });

  it('says nothing before an interval, before media arrives, or with the camera on and no video yet', () => {
    const a = readSample(report({ audio: [50, 0, 4000] }), 0);
    const b = readSample(report({ audio: [100, 0, 8000] }), 2000);
    expect(statsFigures(undefined, b, false)).toBeUndefined();
    expect(statsFigures(a, b, false)).toMatchObject({ packetLoss: 0, jitterMs: 4, rttMs: 0 });
    expect(statsFigures(a, b, true)).toBeUndefined();
    const none = readSample(report({ audio: [0, 0, 0] }), 2000);
    expect(statsFigures(a, none, false)).toBeUndefined();
  });

  it('packets counted lost that arrive late never make the loss negative; figures stay within the protocol\'s bounds', () => {
    const a = readSample(report({ audio: [100, 10, 8000], jitter: 0 }), 0);
    const b = readSample(report({ audio: [150, 5, 12_000], jitter: 100 }), 1000);
    expect(statsFigures(a, b, false)).toMatchObject({ packetLoss: 0, jitterMs: 60_000 });
  });
});
