import { describe, expect, it } from 'vitest';
import { FEC_MIN_PERCENT, LossHint } from '../../../src/media/loss-hint.js';

const run = (h: LossHint, reports: number[]) => reports.map((f) => h.update(f));

describe('LossHint', () => {
  it('a clean link keeps the hint at 0; a lossy one rises within a report, at least to the FEC minimum', () => {
    expect(run(new LossHint({ fec: true }), [0, 0, 0.004, 0])).toEqual([0, 0, 0, 0]);
    // 5 % reported: the estimate goes 2.5 %, 3.75 %, 4.4 %: lossy from the first, hint raised to 9 (FEC on).
    expect(run(new LossHint({ fec: true }), [0.05, 0.05, 0.05])).toEqual([FEC_MIN_PERCENT, FEC_MIN_PERCENT, FEC_MIN_PERCENT]);
    expect(run(new LossHint({ fec: true }), [0.3, 0.3])).toEqual([15, 23]);
    // Without FEC the hint is the estimate itself.
    expect(run(new LossHint({ fec: false }), [0.05, 0.05, 0.05])).toEqual([3, 4, 5]);
  });

  it('falls slowly, and back to 0 only under 0.5 % (no flapping at 1 %)', () => {
    const h = new LossHint({ fec: false });
    run(h, [0.1, 0.1, 0.1, 0.1]); // 9.4 %
    expect(run(h, [0, 0, 0])).toEqual([8, 6, 5]);
    const f = new LossHint({ fec: true });
    expect(run(f, [0.02, 0.008, 0.012, 0.008])).toEqual([9, 9, 9, 9]);
    expect(run(f, new Array(12).fill(0)).at(-1)).toBe(0);
  });

  it('clamps odd reports (negative, above 1, NaN)', () => {
    expect(run(new LossHint({ fec: false }), [-1, Number.NaN, 2, 2, 2, 2, 2, 2, 2, 2])).toEqual([0, 0, 50, 75, 88, 94, 97, 99, 100, 100]);
  });
});
