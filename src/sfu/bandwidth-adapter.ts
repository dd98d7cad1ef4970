/**
 * Adaptive layers for bandwidth (issue 15): one per simulcast video subscription. It reads the
 * subscriber's receive-side bandwidth estimate (REMB, as browsers send it when goog-remb is
 * negotiated) and caps the layer it is forwarded at the highest one whose measured bitrate fits
 * the estimate with headroom: down at once (never below the lowest), up one layer at a time
 * only once the estimate has fit the next layer for a while, a probe. Pure: the caller hands
 * it each estimate, the layers' bitrates and the time.
 */

/** A layer fits when its bitrate times this is within the estimate. */
export const HEADROOM = 1.15;
/** A layer not measured (paused since the start) is guessed at this factor per layer from a measured one: simulcast layers step about 3-4x. */
const UNMEASURED_FACTOR = 3;
/** The estimate fits the next layer up for this long before a step up. */
export const BANDWIDTH_UP_AFTER_MS = 5000;

export class BandwidthAdapter {
  /** The highest layer index to forward; Infinity: no cap. */
  ceiling = Infinity;
  private fitsSinceMs: number | undefined;

  /**
   * One estimate, bits/s, with each layer's bitrate low → high (0: not measured, e.g. paused
   * since the start: guessed from the nearest measured layer, or taken to fit when none is).
   * Returns the new ceiling when it changed, else undefined.
   */
  onEstimate(bitsPerSecond: number, layerBitrates: readonly number[], nowMs: number): number | undefined {
    const count = layerBitrates.length;
    if (count < 2 || !(bitsPerSecond > 0)) return undefined;
    const rates = layerBitrates.map((r, i) => r || guessRate(layerBitrates, i));
    let fit = 0;
    for (let i = count - 1; i > 0; i--) {
      const rate = rates[i]!;
      if (rate === 0 || rate * HEADROOM <= bitsPerSecond) { fit = i; break; }
    }
    const cap = fit >= count - 1 ? Infinity : fit;
    if (cap < this.ceiling) {
      this.ceiling = cap;
      this.fitsSinceMs = undefined;
      return cap;
    }
    if (cap === this.ceiling) {
      this.fitsSinceMs = undefined;
      return undefined;
    }
    this.fitsSinceMs ??= nowMs;
    if (nowMs - this.fitsSinceMs < BANDWIDTH_UP_AFTER_MS) return undefined;
    this.ceiling = this.ceiling + 1 >= count - 1 ? Infinity : this.ceiling + 1;
    this.fitsSinceMs = nowMs;
    return this.ceiling;
  }
}

/** A layer not measured: UNMEASURED_FACTOR per step from the nearest measured one below, else above; 0 when none is. */
function guessRate(rates: readonly number[], i: number): number {
  for (let j = i - 1; j >= 0; j--) if (rates[j]! > 0) return rates[j]! * UNMEASURED_FACTOR ** (i - j);
  for (let k = i + 1; k < rates.length; k++) if (rates[k]! > 0) return rates[k]! / UNMEASURED_FACTOR ** (k - i);
  return 0;
}
