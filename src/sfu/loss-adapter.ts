/**
 * Adaptive layers for loss (issue 15): one per simulcast video subscription. It reads the
 * subscriber's receiver reports and caps the layer it is forwarded when they say its link
 * loses packets: down one layer at once (never below the lowest), up one layer at a time only
 * after the link has been clean for a while, a probe. A probe that brings the loss back waits
 * twice as long before the next. Pure: the caller hands it each report and the time.
 */

/** Loss (of the report interval), % from which a report counts as lossy... */
export const LOSSY_PERCENT = 7;
/** ...from which one report is enough to step down. */
const SEVERE_PERCENT = 15;
/** Loss under which a report counts as clean. */
const CLEAN_PERCENT = 2;
/** After a step down, no further step for this long: the switch (at a key frame) takes effect first. */
const SETTLE_MS = 2000;
/** Clean for this long before a step up; doubled after a probe that failed, up to MAX_UP_WAIT_MS. */
export const UP_AFTER_MS = 8000;
const MAX_UP_WAIT_MS = 32_000;
/** A step down this soon after a step up means the probe failed. */
const PROBE_WINDOW_MS = 5000;

export class LossAdapter {
  /** The highest layer index to forward; Infinity: no cap. */
  ceiling = Infinity;
  private lossyReports = 0;
  private calmSinceMs: number | undefined;
  private settleUntilMs = -Infinity;
  private upWaitMs = UP_AFTER_MS;
  private lastUpMs = -Infinity;

  /**
   * One receiver report: loss over its interval, %, the layer forwarded now, how many layers
   * there are. Returns the new ceiling when it changed, else undefined.
   */
  onReport(lossPercent: number, current: number, layerCount: number, nowMs: number): number | undefined {
    if (lossPercent >= LOSSY_PERCENT) {
      this.lossyReports++;
      this.calmSinceMs = undefined;
      const enough = lossPercent >= SEVERE_PERCENT || this.lossyReports >= 2;
      if (!enough || nowMs < this.settleUntilMs || current <= 0) return undefined;
      if (nowMs - this.lastUpMs < PROBE_WINDOW_MS) this.upWaitMs = Math.min(2 * this.upWaitMs, MAX_UP_WAIT_MS);
      this.ceiling = current - 1;
      this.lossyReports = 0;
      this.settleUntilMs = nowMs + SETTLE_MS;
      return this.ceiling;
    }
    this.lossyReports = 0;
    if (lossPercent >= CLEAN_PERCENT) {
      this.calmSinceMs = undefined;
      return undefined;
    }
    this.calmSinceMs ??= nowMs;
    if (this.ceiling === Infinity || nowMs - this.calmSinceMs < this.upWaitMs) return undefined;
    this.ceiling = this.ceiling + 1 >= layerCount - 1 ? Infinity : this.ceiling + 1;
    this.calmSinceMs = nowMs;
    this.lastUpMs = nowMs;
    return this.ceiling;
  }
}
