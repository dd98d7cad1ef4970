import { describe, expect, it } from 'vitest';
import {
  checkThresholds, distribution, generatorFigures, LatencyHistogram, streamKbps, summarize, type PeerFigures, type StreamFigures, type VideoStreamFigures,
} from '../../../src/loadtest/stats.js';

function stream(o: Partial<StreamFigures> = {}): StreamFigures {
  return { from: 'x', packets: 100, expected: 100, lost: 0, lossPercent: 0, bytes: 9000, kbps: 36, jitterMs: 1, latencyMeanMs: 0.2, ...o };
}

function peer(o: Partial<PeerFigures> = {}): PeerFigures {
  return {
    index: 0, id: 'a', room: 'r', role: 'publisher', joinMs: 10, peersExpected: 1, peersConnected: 1, tracksExpected: 1, tracksReceived: 1,
    links: [{ remote: 'b', initiator: true, remotePublishes: true, connectMs: 30, firstPacketMs: 50 }],
    streams: [stream()], video: { expected: 0, streams: [] }, sent: { packets: 100, bytes: 9000, kbps: 36 }, rttMs: [0.5], errors: {}, ...o,
  };
}

describe('distribution', () => {
  it('gives nearest-rank percentiles of 1..100', () => {
    const d = distribution(Array.from({ length: 100 }, (_, i) => 100 - i));
    expect(d).toEqual({ count: 100, min: 1, mean: 50.5, p50: 50, p95: 95, p99: 99, max: 100 });
  });

  it('of nothing is all null with count 0', () => {
    expect(distribution([])).toEqual({ count: 0, min: null, mean: null, p50: null, p95: null, p99: null, max: null });
  });
});

describe('streamKbps', () => {
  it('counts the last packet\'s own 20 ms, so one packet is not infinitely fast', () => {
    expect(streamKbps(100, 5000, 5000)).toBe(40);
    // 50 packets of 92 bytes a second: 36.8 kbit/s.
    expect(streamKbps(50 * 92, 0, 980)).toBeCloseTo(36.8, 6);
    expect(streamKbps(0, 0, 0)).toBe(0);
  });
});

describe('LatencyHistogram', () => {
  it('quantiles within 2 % of the exact ones over a wide range', () => {
    const h = new LatencyHistogram();
    const values = Array.from({ length: 10000 }, (_, i) => 0.05 + (i % 1000) * 0.1);
    for (const v of values) h.add(v);
    const exact = distribution(values);
    for (const p of ['p50', 'p95', 'p99'] as const) {
      expect(Math.abs(h.distribution()[p]! - exact[p]!) / exact[p]!).toBeLessThan(0.02);
    }
    expect(h.distribution()).toMatchObject({ count: 10000, min: 0.05, max: exact.max });
  });

  it('merged from parts (workers, through JSON) equals one histogram of every value', () => {
    const whole = new LatencyHistogram();
    const parts = [new LatencyHistogram(), new LatencyHistogram(), new LatencyHistogram()];
    for (let i = 0; i < 3000; i++) {
      const v = 0.2 + ((i * 7919) % 997) * 0.05;
      whole.add(v);
      parts[i % 2]!.add(v); // the third stays empty
    }
    const merged = new LatencyHistogram();
    for (const p of parts) merged.merge(JSON.parse(JSON.stringify(p.state())));
    const { mean, ...rest } = merged.distribution();
    const { mean: wholeMean, ...wholeRest } = whole.distribution();
    expect(rest).toEqual(wholeRest);
    expect(mean!).toBeCloseTo(wholeMean!, 9); // the sum, added in another order
  });

  it('never reports outside the values seen', () => {
    const h = new LatencyHistogram();
    h.add(3);
    expect(h.distribution()).toMatchObject({ p50: 3, p99: 3 });
  });
});

describe('summarize', () => {
  it('adds up packets, loss, tracks and errors and times setup on the newcomer side only', () => {
    const a = peer({ errors: { 'peer-failed': 1 } });
    const b = peer({
      index: 1, id: 'b', joinMs: 20,
      links: [{ remote: 'a', initiator: false, remotePublishes: true, connectMs: 5, firstPacketMs: 7 }],
      streams: [stream({ packets: 90, expected: 100, lost: 10, lossPercent: 10 })],
      errors: { 'peer-failed': 2, ROOM_FULL: 1 },
    });
    const s = summarize([a, b], distribution([]));
    expect(s.packets).toEqual({ sent: 200, received: 190, expected: 200, lost: 10, lossPercent: 5 });
    expect(s.tracks).toEqual({ expected: 2, received: 2 });
    expect(s.errors).toEqual({ 'peer-failed': 3, ROOM_FULL: 1 });
    expect(s.peers).toEqual({ total: 2, joined: 2, connected: 2, withErrors: 2 });
    expect(s.setup.firstPacketMs).toMatchObject({ count: 1, p50: 50 });
    expect(s.setup.iceConnectedMs).toMatchObject({ count: 1, p50: 30 });
    expect(s.setup.joinMs).toMatchObject({ count: 2, max: 20 });
    expect(s.streamLossPercent.max).toBe(10);
    expect(s.bitrate).toMatchObject({ sentKbps: 72, receivedKbps: 72 });
  });

  it('does not count a peer that never joined as connected', () => {
    const s = summarize([peer({ joinMs: null, peersConnected: 0, links: [], streams: [] })], distribution([]));
    expect(s.peers).toMatchObject({ joined: 0, connected: 0 });
    expect(s.packets.lossPercent).toBe(0);
  });
});

describe('checkThresholds', () => {
  const s = summarize([peer({ streams: [stream({ packets: 95, lost: 5, lossPercent: 5, jitterMs: 12 })] })], distribution([]));

  it('names each exceeded threshold with its limit and the measured value', () => {
    expect(checkThresholds(s, { maxLossPercent: 1, maxSetupP95Ms: 40, maxJitterMs: 10 })).toEqual([
      { threshold: '--max-loss', limit: 1, actual: 5 },
      { threshold: '--max-setup-p95', limit: 40, actual: 50 },
      { threshold: '--max-jitter', limit: 10, actual: 12 },
    ]);
  });

  it('passes at the limits and when none is set', () => {
    expect(checkThresholds(s, { maxLossPercent: 5, maxSetupP95Ms: 50, maxJitterMs: 12 })).toEqual([]);
    expect(checkThresholds(s, {})).toEqual([]);
  });

  it('fails a threshold whose figure was never measured', () => {
    const empty = summarize([], distribution([]));
    expect(checkThresholds(empty, { maxLossPercent: 1, maxSetupP95Ms: 100 }).map((v) => v.actual)).toEqual([null, null]);
  });
});

describe('generatorFigures', () => {
  const sample = (cpuPercent: number, loopLagP99Ms = 1) => ({ t: 1, cpuPercent, rssMB: 100, loopLagP99Ms });

  it('calls the generator the bottleneck on CPU, loop lag or skipped frames, saying why', () => {
    expect(generatorFigures([sample(50), sample(60)], 0)).toMatchObject({ bottleneck: false, reasons: [] });
    expect(generatorFigures([sample(90), sample(95)], 0).reasons).toHaveLength(1);
    expect(generatorFigures([sample(10, 80), sample(10, 90)], 0).bottleneck).toBe(true);
    expect(generatorFigures([sample(10)], 3)).toMatchObject({ bottleneck: true, pacerSkippedFrames: 3 });
    // One stall in a 10 s run is not saturation; 6 skipped frames of 500 are.
    const tenSeconds = Array.from({ length: 10 }, () => sample(10));
    expect(generatorFigures(tenSeconds, 1).bottleneck).toBe(false);
    expect(generatorFigures(tenSeconds, 6).bottleneck).toBe(true);
  });

  it('judges CPU and loop lag over the hold: a ramp\'s setup bursts alone do not make a run invalid', () => {
    const at = (phase: 'ramping' | 'holding', cpu: number, lag: number) => ({ ...sample(cpu, lag), phase });
    const rampLag = [at('ramping', 95, 200), at('ramping', 95, 150), at('holding', 30, 2), at('holding', 35, 3), at('holding', 30, 2)];
    expect(generatorFigures(rampLag, 0)).toMatchObject({ bottleneck: false, reasons: [] });
    const holdLag = [at('ramping', 30, 2), at('holding', 30, 80), at('holding', 30, 90)];
    expect(generatorFigures(holdLag, 0).reasons).toEqual(['event-loop lag p99 90 ms while holding > 50 ms']);
  });
});

describe('summarize: video (--video)', () => {
  const cam = (from: string, o: Partial<VideoStreamFigures> = {}): VideoStreamFigures => ({
    from, packets: 300, expected: 303, lost: 3, bytes: 300_000, kbps: 600, frames: 60, keyframes: 4, framesPerSecond: 15, size: '640x360', ...o,
  });
  it('adds the cameras up: tracks with frames, loss, frames and key frames, sizes last forwarded', () => {
    const v = summarize([
      peer({ index: 0, video: { expected: 2, streams: [cam('b'), cam('c', { size: '320x180', framesPerSecond: 14 })] } }),
      peer({ index: 1, video: { expected: 2, streams: [cam('a'), cam('c', { frames: 0, packets: 0, expected: 0, lost: 0, keyframes: 0, size: '' })] } }),
    ], distribution([])).video;
    expect(v).toMatchObject({
      tracks: { expected: 4, received: 3 }, packets: { received: 900, expected: 909, lost: 9 }, frames: 180, keyframes: 12,
      receivedKbps: 2400, sizes: { '640x360': 2, '320x180': 1 },
    });
    expect(v!.packets.lossPercent).toBeCloseTo(0.99, 2);
    expect(v!.framesPerSecond.p50).toBe(15);
  });
  it('is null in a run without video', () => {
    expect(summarize([peer()], distribution([])).video).toBeNull();
  });
});
