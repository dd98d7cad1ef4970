import { describe, expect, it } from 'vitest';
import { DownlinkAllocator, PROBE_AFTER_MS, withGuesses, type AllocatedStream } from '../../../src/sfu/downlink-allocator.js';

/** A simulcast stream that forwards whatever its cap allows at once (the key frame is instant). */
class Stream implements AllocatedStream {
  bandwidthCeiling = Infinity;
  readonly ceilings: number[] = [];
  constructor(private readonly rates: number[], private readonly preferred = rates.length - 1, public current = preferred) {}
  sentBitrate(): number { return this.rates.length ? this.rates[this.current]! : 100_000; }
  forwardedLayer(): number { return this.current; }
  preferredLayer(): number { return this.preferred; }
  layerRates(): readonly number[] { return this.rates; }
  setBandwidthCeiling(ceiling: number): void {
    this.bandwidthCeiling = ceiling;
    this.ceilings.push(ceiling);
    this.current = Math.min(this.preferred, ceiling);
  }
}

const LAYERS = [150_000, 500_000, 1_500_000];

/** A stream on high until an estimate cut straight to 200 kbit/s put it on low (at 1 s). */
function cappedToLow(): { a: DownlinkAllocator; s: Stream } {
  const a = new DownlinkAllocator();
  const s = new Stream(LAYERS);
  a.add(s);
  a.onEstimate(2_000_000, 0);
  a.onEstimate(200_000, 1000);
  return { a, s };
}

describe('DownlinkAllocator', () => {
  it('a cut below what is sent steps the stream down to the layer that fits with headroom; estimates that do not fall move nothing', () => {
    const a = new DownlinkAllocator();
    const s = new Stream(LAYERS);
    a.add(s);
    a.onEstimate(2_000_000, 0);
    a.onEstimate(1_600_000, 1000); // a cut, but 1.6 M still carries 1.5 M... not with 15 % headroom
    expect(s.ceilings).toEqual([1]);
    a.onEstimate(400_000, 1500); // within the 2 s settle: no further step
    expect(s.ceilings).toEqual([1]);
    a.onEstimate(300_000, 3100);
    expect(s.ceilings).toEqual([1, 0]);
    a.onEstimate(100_000, 6000); // never below the lowest
    expect(s.ceilings).toEqual([1, 0]);
    // A low estimate that does not fall (the estimator still climbing) is no reason to step down.
    const b = new DownlinkAllocator();
    const t = new Stream(LAYERS);
    b.add(t);
    for (let ms = 0; ms < 5000; ms += 1000) b.onEstimate(300_000 + ms * 10, ms);
    expect(t.ceilings).toEqual([]);
  });

  it('a cut straight to a low estimate goes down as far as needed at once; the biggest of several streams steps first', () => {
    expect(cappedToLow().s.ceilings).toEqual([0]);

    const b = new DownlinkAllocator();
    const big = new Stream(LAYERS);
    const small = new Stream(LAYERS, 2, 1);
    const audio = new Stream([]);
    for (const x of [big, small, audio]) b.add(x);
    // Sent: 1.5 M + 0.5 M + 0.1 M (audio). 2 M / 1.15 = 1.74 M: the big one stepping to medium (1.1 M) is enough.
    b.onEstimate(3_000_000, 0);
    b.onEstimate(2_000_000, 1000);
    expect(big.ceilings).toEqual([1]);
    expect(small.ceilings).toEqual([]);
    // 0.9 M / 1.15 = 0.78 M: both at medium (1.1 M with audio); one of them to low (0.75 M) is enough.
    b.onEstimate(900_000, 4000);
    expect(big.ceilings).toEqual([1, 0]);
    expect(small.ceilings).toEqual([]);
    expect(audio.ceilings).toEqual([]);
  });

  it('probes upward one layer after a calm spell with the estimate covering what is sent; a probe cut short doubles the wait', () => {
    const { a, s } = cappedToLow();
    // The estimate stays near 1.5x what low sends: calm, covers it.
    let t = 2000;
    const steady = (bps: number, until: number) => { for (; t <= until; t += 1000) a.onEstimate(bps + (t % 2000), t); };
    steady(230_000, 1000 + PROBE_AFTER_MS - 1000);
    expect(s.ceilings).toEqual([0]);
    steady(230_000, 3000 + PROBE_AFTER_MS);
    expect(s.ceilings).toEqual([0, 1]); // the probe: medium
    const probedAt = t - 1000;
    // The link cannot carry medium: the estimator cuts, the stream steps back.
    a.onEstimate(180_000, probedAt + 1500);
    expect(s.ceilings).toEqual([0, 1, 0]);
    // The next probe waits twice as long.
    t = probedAt + 2500;
    steady(230_000, probedAt + 1500 + 2 * PROBE_AFTER_MS - 1000);
    expect(s.ceilings).toEqual([0, 1, 0]);
    steady(230_000, probedAt + 1500 + 2 * PROBE_AFTER_MS + 1000);
    expect(s.ceilings).toEqual([0, 1, 0, 1]);
  });

  it('a probe that holds is followed by the next once the estimate covers the new layer, and the top lifts the cap', () => {
    const { a, s } = cappedToLow();
    let bps = 230_000;
    for (let t = 2000; t < 60_000; t += 1000) {
      a.onEstimate(Math.round(bps), t);
      bps = Math.min(bps * 1.08, 1.5 * s.sentBitrate() + 10_000); // Chromium's AIMD: +8 %/s, at most 1.5x what arrives
    }
    expect(s.ceilings).toEqual([0, 1, Infinity]);
  });

  it('a stream it cannot choose for (audio, one layer) is never capped; guesses stand in for layers not measured', () => {
    const a = new DownlinkAllocator();
    const one = new Stream([400_000], 0, 0);
    a.add(one);
    a.onEstimate(1_000_000, 0);
    a.onEstimate(100_000, 1000);
    expect(one.ceilings).toEqual([]);
    expect(withGuesses([100, 0, 0])).toEqual([100, 300, 900]);
    expect(withGuesses([0, 0, 900])).toEqual([100, 300, 900]);
    expect(withGuesses([0, 0])).toEqual([0, 0]);
  });
});
