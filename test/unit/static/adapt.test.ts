/** How a mesh page steps its video sender down on a lossy or slow link and back up (static/js/adapt.js). */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module of the pages (no types)
import { DEFAULTS, FLOOR_KBPS, initialState, levelEncoding, nextState, readSend, sendFigures } from '../../../static/js/adapt.js';

type State = ReturnType<typeof initialState>;
interface Figures { lossPct?: number; rttMs?: number; kbps?: number }

/** Feeds readings 2 s apart from `startMs`; returns the states after each. */
function run(readings: Figures[], st: State = initialState(), startMs = 0, room: { capKbps?: number } = {}): State[] {
  const out: State[] = [];
  readings.forEach((f, i) => {
    st = nextState(st, f, startMs + i * 2000, room);
    out.push(st);
  });
  return out;
}
const clean = (n: number, rttMs = 20): Figures[] => Array.from({ length: n }, () => ({ lossPct: 0, rttMs, kbps: 800 }));
const lossy = (n: number, lossPct = 15): Figures[] => Array.from({ length: n }, () => ({ lossPct, rttMs: 20, kbps: 800 }));

describe('readSend and sendFigures', () => {
  it('our video\'s loss from the receiver\'s reports over what we sent, its round trip, and our bitrate without retransmissions', () => {
    const entries = (bytes: number, packets: number, lost: number, reports: number, target = 1_700_000) => [
      { id: 'OA', type: 'outbound-rtp', kind: 'audio', bytesSent: 1, packetsSent: 1 },
      { id: 'OV', type: 'outbound-rtp', kind: 'video', bytesSent: bytes, retransmittedBytesSent: 5000, packetsSent: packets, retransmittedPacketsSent: 10, targetBitrate: target },
      { id: 'RA', type: 'remote-inbound-rtp', kind: 'audio', localId: 'OA', packetsLost: 99, roundTripTimeMeasurements: 9, roundTripTime: 9 },
      { id: 'RV', type: 'remote-inbound-rtp', kind: 'video', localId: 'OV', packetsLost: lost, fractionLost: 0, roundTripTime: 0.04, roundTripTimeMeasurements: reports },
    ];
    const a = readSend(entries(100_000, 110, 4, 3), 0);
    expect(a).toEqual({ atMs: 0, bytes: 95_000, packets: 100, lost: 4, reports: 3, rttMs: 40, targetKbps: 1700 });
    const f = sendFigures(a, readSend(entries(150_000, 210, 24, 5), 2000));
    expect(f.lossPct).toBeCloseTo(20);
    expect(f.rttMs).toBeCloseTo(40);
    expect(f.kbps).toBeCloseTo(200);
    // No new receiver report: nothing to say about loss or the round trip.
    expect(sendFigures(a, readSend(entries(150_000, 210, 24, 3), 2000))).toMatchObject({ lossPct: undefined, rttMs: undefined });
    // Too few packets to judge loss by.
    expect(sendFigures(a, readSend(entries(101_000, 115, 5, 4), 2000)).lossPct).toBeUndefined();
    // Padding while the estimator probes counts as sent: the encoder's target bounds the rate.
    expect(sendFigures(a, readSend(entries(595_000, 800, 4, 4, 300_000), 2000)).kbps).toBe(300);
    expect(readSend([{ type: 'outbound-rtp', kind: 'audio' }], 0)).toBeUndefined();
  });
});

describe('nextState', () => {
  it('two lossy readings step down from what we send; each two more step again, down to scale 4 and no further', () => {
    const states = run(lossy(12));
    expect(states.map((s) => s.level)).toEqual([0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 4]);
    expect(states[1]).toMatchObject({ reason: 'loss', baseKbps: 800, changedAtMs: 2000 });
    expect(states.map((s) => levelEncoding(s.level, s.baseKbps))).toContainEqual({ maxBitrateKbps: 200, scale: 4 });
    expect(levelEncoding(1, 800)).toEqual({ maxBitrateKbps: 400, scale: 1 });
    expect(levelEncoding(2, 800)).toEqual({ maxBitrateKbps: 200, scale: 1 });
    expect(levelEncoding(3, 800)).toEqual({ maxBitrateKbps: 200, scale: 2 });
  });

  it('one lossy reading, loss between the thresholds, or a reading with no report changes nothing', () => {
    expect(run([...lossy(1), ...clean(1), ...lossy(1), ...clean(1)]).map((s) => s.level)).toEqual([0, 0, 0, 0]);
    expect(run(lossy(6, 4)).map((s) => s.level)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(run([...lossy(1), {}, ...lossy(1)]).map((s) => s.level)).toEqual([0, 0, 1]);
  });

  it('steps up one level per 10 s of clean readings, counted from the last step; a reading between the thresholds restarts the count', () => {
    const down = run(lossy(4)).at(-1)!;
    expect(down.level).toBe(2);
    // Last step at 6 s; clean from 8 s: up at 18 s (10 s clean), again at 28 s.
    const up = run(clean(12), down, 8000);
    const at = (level: number) => 8000 + up.findIndex((s) => s.level === level) * 2000;
    expect(at(1)).toBe(18_000);
    expect(at(0)).toBe(28_000);
    expect(up.at(-1)).toMatchObject({ level: 0, reason: '', baseKbps: undefined });
    // 3 % loss is neither bad nor clean: the clean time starts again after it.
    const held = run([...clean(4), { lossPct: 3, rttMs: 20 }, ...clean(6)], down, 8000);
    expect(held.map((s) => s.level)).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1]);
    expect(DEFAULTS.upAfterMs).toBe(10_000);
  });

  it('a round trip climbing to twice its baseline and 200 ms more steps down for "rtt"; the baseline is the lowest seen', () => {
    const slow = run([...clean(3, 80), { lossPct: 0, rttMs: 290 }, { lossPct: 0, rttMs: 300 }]);
    expect(slow.at(-1)).toMatchObject({ level: 1, reason: 'rtt', minRttMs: 80 });
    // 250 ms is under 80 + 200: not slow enough.
    expect(run([...clean(2, 80), ...clean(4, 250)]).at(-1)!.level).toBe(0);
    // Loss and a slow round trip at once: loss is the reason.
    expect(run([...clean(1, 80), { lossPct: 20, rttMs: 400 }, { lossPct: 20, rttMs: 400 }]).at(-1)!.reason).toBe('loss');
  });

  it('never above the room\'s cap, never under the floor', () => {
    const st = run(lossy(2), initialState(), 0, { capKbps: 300 }).at(-1)!;
    expect(st.baseKbps).toBe(300);
    expect(levelEncoding(st.level, st.baseKbps, 300)).toEqual({ maxBitrateKbps: 150, scale: 1 });
    expect(levelEncoding(0, undefined, 300)).toEqual({ maxBitrateKbps: 300, scale: 1 });
    expect(levelEncoding(0, undefined, undefined)).toEqual({ maxBitrateKbps: undefined, scale: 1 });
    expect(levelEncoding(4, 120)).toEqual({ maxBitrateKbps: FLOOR_KBPS, scale: 4 });
  });
});
