import { describe, expect, it } from 'vitest';
import { IntervalLoss, qualityScore, QualityWarnings, type QualitySample } from '../../../src/media/quality.js';

describe('qualityScore (simplified E-model, 0-100)', () => {
  it('gives the worked values of the formula', () => {
    expect(qualityScore({ packetLoss: 0, jitterMs: 0, rttMs: 0 })).toBe(100);
    // d = 10: Id 0.24; Ie(1 %) = 95/26 = 3.65: R 89.31 -> 95.8
    expect(qualityScore({ packetLoss: 1, jitterMs: 0, rttMs: 0 })).toBe(96);
    // Ie(10 %) = 950/35 = 27.14: R 65.82 -> 70.6
    expect(qualityScore({ packetLoss: 10, jitterMs: 0, rttMs: 0 })).toBe(71);
    // d = 160: Id 3.84: R 89.36 -> 95.9
    expect(qualityScore({ packetLoss: 0, jitterMs: 0, rttMs: 300 })).toBe(96);
    // d = 210: Id 5.04 + 0.11 * 32.7 = 8.64: R 84.56 -> 90.7
    expect(qualityScore({ packetLoss: 0, jitterMs: 0, rttMs: 400 })).toBe(91);
    // d = 25 + 60 + 10 = 95: Id 2.28; Ie(3 %) = 285/28 = 10.18: R 80.74 -> 86.6
    expect(qualityScore({ packetLoss: 3, jitterMs: 30, rttMs: 50 })).toBe(87);
  });

  it('falls as any figure worsens, and stays within 0-100 for absurd figures', () => {
    const base = { packetLoss: 2, jitterMs: 10, rttMs: 100 };
    expect(qualityScore({ ...base, packetLoss: 4 })).toBeLessThan(qualityScore(base));
    expect(qualityScore({ ...base, jitterMs: 40 })).toBeLessThan(qualityScore(base));
    expect(qualityScore({ ...base, rttMs: 600 })).toBeLessThan(qualityScore(base));
    expect(qualityScore({ packetLoss: 100, jitterMs: 5000, rttMs: 60_000 })).toBe(0);
    expect(qualityScore({ packetLoss: -5, jitterMs: 0, rttMs: 0 })).toBe(100);
  });
});

const sample = (o: Partial<QualitySample> = {}): QualitySample => ({ packetLoss: 0, jitterMs: 5, rttMs: 40, bitrateKbps: 40, video: false, expectingMedia: true, ...o });

describe('QualityWarnings', () => {
  it('high-loss comes on at 5 % and goes off only after two samples at or under 2 % (no flapping at the threshold)', () => {
    const w = new QualityWarnings();
    expect(w.update(sample({ packetLoss: 4.9 }))).toEqual([]);
    expect(w.update(sample({ packetLoss: 10 }))).toEqual(['high-loss']);
    expect(w.update(sample({ packetLoss: 4 }))).toEqual(['high-loss']); // between off and on: stays
    expect(w.update(sample({ packetLoss: 1 }))).toEqual(['high-loss']); // one calm sample
    expect(w.update(sample({ packetLoss: 6 }))).toEqual(['high-loss']); // back up: the count starts over
    expect(w.update(sample({ packetLoss: 1 }))).toEqual(['high-loss']);
    expect(w.update(sample({ packetLoss: 0 }))).toEqual([]);
  });

  it('jitter, RTT, video bitrate and frozen video, each with its own thresholds, in a fixed order', () => {
    const w = new QualityWarnings();
    expect(w.update(sample({ jitterMs: 45, rttMs: 350, video: true, bitrateKbps: 60, framesPerSecond: 0 }))).toEqual(['high-jitter', 'high-rtt', 'low-bitrate', 'frozen-video']);
    // Bitrate between 100 and 150: low-bitrate holds; frames again: frozen-video needs two calm samples.
    expect(w.update(sample({ video: true, bitrateKbps: 120, framesPerSecond: 20 }))).toEqual(['high-jitter', 'high-rtt', 'low-bitrate', 'frozen-video']);
    expect(w.update(sample({ video: true, bitrateKbps: 400, framesPerSecond: 20 }))).toEqual(['low-bitrate']);
    expect(w.update(sample({ video: true, bitrateKbps: 400, framesPerSecond: 20 }))).toEqual([]);
    // Audio only: a low bitrate is no warning.
    expect(w.update(sample({ bitrateKbps: 30 }))).toEqual([]);
  });

  it('no-media when media is expected and nothing arrives (and then no loss or jitter claims), gone at once when it flows', () => {
    const w = new QualityWarnings();
    expect(w.update(sample({ bitrateKbps: 0, packetLoss: 100, jitterMs: 99 }))).toEqual(['no-media']);
    expect(w.update(sample())).toEqual([]);
    // Muted (nothing expected): silence is fine.
    expect(w.update(sample({ bitrateKbps: 0, expectingMedia: false }))).toEqual([]);
  });
});

describe('IntervalLoss', () => {
  it('is the loss over each interval from cumulative counts', () => {
    const l = new IntervalLoss();
    expect(l.next(100, 100)).toBe(0);
    expect(l.next(200, 190)).toBe(10);
    expect(l.next(200, 190)).toBe(0); // nothing expected
    expect(l.next(300, 285)).toBe(5);
    expect(l.next(400, 386)).toBe(0); // more received than expected (duplicates): never negative
  });
});
