/**
 * Adaptive layers for bandwidth (issue 15): one per subscriber connection. The subscriber's
 * receive-side bandwidth estimate (REMB, which browsers send for our sections since we offer
 * `goog-remb`) covers its whole connection, so the layers of every simulcast video it receives
 * share it.
 *
 * A REMB estimate only ever says "less": Chromium's receive-side estimator (AIMD) grows at most
 * ~8 %/s and never above 1.5x what it receives, so a subscriber forwarded a low layer never
 * reports room for a high one. It cuts to ~0.85x what got through when its delay detector sees
 * a queue building. So:
 *   - down, fast: the estimate fell (a cut) below what we send: the streams step down, the
 *     biggest first, until what they would send fits the estimate with headroom;
 *   - up, slowly, by probing: after a calm spell (no cut) with the estimate covering what we
 *     send, one capped stream goes up one layer. That layer is the probe: a link that cannot
 *     carry it queues, the estimate is cut within a second or two and the stream steps back
 *     down; a failed probe doubles the wait before the next.
 * Pure: the caller hands it each estimate and the time; streams say what they send.
 */

/** What the subscriber's estimate must exceed what we would send by. */
export const HEADROOM = 1.15;
/** An estimate under the previous one by this factor is a cut (Chromium sends a new REMB on a 3 % drop). */
const CUT = 0.95;
/** After a step down, no other step for this long: the switch (at a key frame) and the estimator settle first. */
const SETTLE_MS = 2000;
/** Calm for this long before a probe; doubled after a probe that failed, up to MAX_UP_WAIT_MS. */
export const PROBE_AFTER_MS = 6000;
const MAX_UP_WAIT_MS = 32_000;
/** A cut this soon after a step up means the probe failed. */
const PROBE_WINDOW_MS = 6000;
/** A layer not measured yet (paused since the start) is guessed at this factor per layer from a measured one. */
const UNMEASURED_FACTOR = 3;
/** The same estimate again this soon is the same REMB (it reaches every section of the connection). */
const SAME_REPORT_MS = 100;

/** One stream to the subscriber (audio or video), as the allocator sees it. */
export interface AllocatedStream {
  /** What it sent the subscriber lately, bits/s. */
  sentBitrate(): number;
  /** The layer forwarded now, low → high index (-1: none yet). */
  forwardedLayer(): number;
  /** The layer its preference asks for. */
  preferredLayer(): number;
  /** Each layer's bitrate, bits/s, low → high (0: not measured yet); fewer than two: nothing to choose. */
  layerRates(): readonly number[];
  /** The highest layer the subscriber's bandwidth allows (Infinity: no cap). */
  readonly bandwidthCeiling: number;
  setBandwidthCeiling(ceiling: number): void;
}

export class DownlinkAllocator {
  private readonly streams = new Set<AllocatedStream>();
  private last: { bps: number; atMs: number } | undefined;
  private calmSinceMs: number | undefined;
  private settleUntilMs = -Infinity;
  private upWaitMs = PROBE_AFTER_MS;
  private lastUpMs = -Infinity;
  /** The subscriber's last estimate, bits/s (undefined: none yet). */
  estimate: number | undefined;

  add(stream: AllocatedStream): void {
    this.streams.add(stream);
  }

  delete(stream: AllocatedStream): void {
    this.streams.delete(stream);
  }

  /** One estimate, bits/s. Moves at most one step: down (possibly several streams) or up (one). */
  onEstimate(bps: number, nowMs: number): void {
    if (!(bps > 0)) return;
    const last = this.last;
    if (last && last.bps === bps && nowMs - last.atMs < SAME_REPORT_MS) return;
    this.last = { bps, atMs: nowMs };
    this.estimate = bps;
    let sentBps = 0;
    for (const s of this.streams) sentBps += s.sentBitrate();
    const cut = last !== undefined && bps < last.bps * CUT;
    if (cut) this.calmSinceMs = nowMs;
    if (cut && bps < sentBps * HEADROOM) {
      if (nowMs >= this.settleUntilMs && this.stepDown(bps / HEADROOM, sentBps)) {
        if (nowMs - this.lastUpMs < PROBE_WINDOW_MS) this.upWaitMs = Math.min(2 * this.upWaitMs, MAX_UP_WAIT_MS);
        this.settleUntilMs = nowMs + SETTLE_MS;
      }
      return;
    }
    this.calmSinceMs ??= nowMs;
    if (nowMs < this.settleUntilMs || nowMs - this.calmSinceMs < this.upWaitMs || bps < sentBps) return;
    if (this.stepUp()) {
      this.lastUpMs = nowMs;
      this.calmSinceMs = nowMs;
    }
  }

  /**
   * Lowers caps until what the streams would send fits `budget`: the stream whose layer costs
   * most steps down one layer at a time (never below the lowest). Returns whether any moved.
   */
  private stepDown(budget: number, sentBps: number): boolean {
    const plan = [...this.streams].filter((s) => s.forwardedLayer() >= 0 && s.layerRates().length >= 2).map((s) => {
      const rates = withGuesses(s.layerRates());
      const current = Math.min(s.forwardedLayer(), rates.length - 1);
      const layer = Math.min(current, s.bandwidthCeiling);
      return { s, rates, current, from: layer, layer };
    });
    // What we send, less what the switches already asked for (waiting for a key frame) will save.
    let total = sentBps;
    for (const p of plan) total -= p.rates[p.current]! - p.rates[p.layer]!;
    let moved = false;
    while (total > budget) {
      let pick: (typeof plan)[number] | undefined;
      for (const p of plan) if (p.layer > 0 && (!pick || p.rates[p.layer]! > pick.rates[pick.layer]!)) pick = p;
      if (!pick) break;
      total -= pick.rates[pick.layer]! - pick.rates[pick.layer - 1]!;
      pick.layer--;
      moved = true;
    }
    for (const p of plan) if (p.layer < p.from) p.s.setBandwidthCeiling(p.layer);
    return moved;
  }

  /** The capped stream lowest under its preference goes up one layer (the probe). Returns whether one did. */
  private stepUp(): boolean {
    let pick: AllocatedStream | undefined;
    for (const s of this.streams) {
      if (s.bandwidthCeiling >= s.preferredLayer()) continue;
      if (!pick || s.bandwidthCeiling < pick.bandwidthCeiling) pick = s;
    }
    if (!pick) {
      this.upWaitMs = PROBE_AFTER_MS;
      return false;
    }
    const next = pick.bandwidthCeiling + 1;
    pick.setBandwidthCeiling(next >= pick.layerRates().length - 1 ? Infinity : next);
    return true;
  }
}

/** Layer rates with the unmeasured ones guessed: UNMEASURED_FACTOR per step from the nearest measured one. */
export function withGuesses(rates: readonly number[]): number[] {
  return rates.map((r, i) => {
    if (r > 0) return r;
    for (let j = i - 1; j >= 0; j--) if (rates[j]! > 0) return rates[j]! * UNMEASURED_FACTOR ** (i - j);
    for (let k = i + 1; k < rates.length; k++) if (rates[k]! > 0) return rates[k]! / UNMEASURED_FACTOR ** (k - i);
    return 0;
  });
}
