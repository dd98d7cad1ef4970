import { describe, expect, it } from 'vitest';
import { BANDWIDTH_UP_AFTER_MS, BandwidthAdapter } from '../../../src/sfu/bandwidth-adapter.js';

const RATES = [150_000, 500_000, 1_500_000]; // low, medium, high, bits/s

describe('BandwidthAdapter', () => {
  it('caps at once at the highest layer that fits the estimate with 15 % headroom, never below low', () => {
    const a = new BandwidthAdapter();
    expect(a.onEstimate(5_000_000, RATES, 0)).toBeUndefined(); // everything fits: no cap
    expect(a.onEstimate(1_000_000, RATES, 1000)).toBe(1); // high needs 1.725 Mbit/s
    expect(a.onEstimate(560_000, RATES, 2000)).toBe(0); // medium needs 575 kbit/s
    expect(a.onEstimate(50_000, RATES, 3000)).toBeUndefined(); // already at low: stays
    expect(a.ceiling).toBe(0);
  });

  it('steps up one layer at a time, each after the estimate fit it for a while', () => {
    const a = new BandwidthAdapter();
    a.onEstimate(200_000, RATES, 0);
    expect(a.ceiling).toBe(0);
    expect(a.onEstimate(10_000_000, RATES, 1000)).toBeUndefined();
    expect(a.onEstimate(10_000_000, RATES, 1000 + BANDWIDTH_UP_AFTER_MS - 1)).toBeUndefined();
    expect(a.onEstimate(10_000_000, RATES, 1000 + BANDWIDTH_UP_AFTER_MS)).toBe(1);
    expect(a.onEstimate(10_000_000, RATES, 1000 + 2 * BANDWIDTH_UP_AFTER_MS)).toBe(Infinity);
  });

  it('a dip while waiting to step up starts the wait again; an unmeasured layer is guessed 3x per step from a measured one; one layer is no simulcast', () => {
    const a = new BandwidthAdapter();
    a.onEstimate(200_000, RATES, 0);
    a.onEstimate(10_000_000, RATES, 1000);
    a.onEstimate(200_000, RATES, 3000); // back to what fits low only: the wait restarts
    expect(a.onEstimate(10_000_000, RATES, 4000)).toBeUndefined();
    expect(a.onEstimate(10_000_000, RATES, 4000 + BANDWIDTH_UP_AFTER_MS)).toBe(1);
    expect(new BandwidthAdapter().onEstimate(400_000, [150_000, 0, 0], 0)).toBe(0); // medium taken as 450 kbit/s
    expect(new BandwidthAdapter().onEstimate(600_000, [150_000, 0, 0], 0)).toBe(1); // high as 1.35 Mbit/s
    expect(new BandwidthAdapter().onEstimate(100, [0, 0, 0], 0)).toBeUndefined(); // nothing measured: no cap
    expect(new BandwidthAdapter().onEstimate(400_000, [0, 0, 1_500_000], 0)).toBe(0); // only high measured: medium taken as 500 kbit/s
    expect(new BandwidthAdapter().onEstimate(100, [150_000], 0)).toBeUndefined();
  });
});
