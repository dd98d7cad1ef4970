/**
 * From what a receiver reports of our stream (RTCP receiver reports' fraction lost, one value
 * per report interval) to the packet-loss hint an Opus encoder works with
 * (OPUS_SET_PACKET_LOSS_PERC, %). Pure.
 *
 * Smoothing: a report above the running estimate pulls it halfway up, one below a fifth of the
 * way down, so a lossy link is taken up within a report or two (browsers report audio every
 * 2.5-7.5 s) and a quiet spell of a few seconds does not drop protection at once.
 *
 * Hint: 0 until the estimate reaches 1 %, and again once it falls under 0.5 % (hysteresis, so
 * the encoder does not flip mode at each report). On a lossy link with FEC on, at least
 * FEC_MIN_PERCENT: libopus 1.3.1 codes LBRR only in SILK and hybrid frames, and with our
 * 'music' signal hint (voice estimate 0) it leaves CELT for SILK only when the hint exceeds
 * (128 - 0) / 16 = 8 % (opus_encoder.c); at 32 kbit/s and complexity 0 a lower hint in SILK
 * would not leave room for LBRR at full band either (decide_fec). So any real loss turns FEC
 * on, as browsers do (their VoIP application's voice estimate of 115 switches at any loss),
 * at the price of SILK encoding (~65 µs a frame instead of ~20) on lossy links only. Without
 * FEC the hint is the estimate itself.
 */

/** The least hint on a lossy link with FEC on, %: just over libopus's 8 % switch to SILK for music. */
export const FEC_MIN_PERCENT = 9;
/** Estimate at which a link counts as lossy, and under which it stops, 0..1. */
const LOSSY_FROM = 0.01;
const CLEAN_UNDER = 0.005;
const RISE = 0.5;
const FALL = 0.2;

export class LossHint {
  /** Smoothed fraction lost, 0..1. */
  private estimate = 0;
  private lossy = false;
  private readonly fec: boolean;

  constructor(options: { fec: boolean }) {
    this.fec = options.fec;
  }

  /** One report's fraction lost (0..1; out-of-range values are clamped). Returns the hint, % (0..100). */
  update(fractionLost: number): number {
    const f = Number.isFinite(fractionLost) ? Math.min(1, Math.max(0, fractionLost)) : 0;
    this.estimate += (f > this.estimate ? RISE : FALL) * (f - this.estimate);
    if (this.lossy ? this.estimate < CLEAN_UNDER : this.estimate >= LOSSY_FROM) this.lossy = !this.lossy;
    if (!this.lossy) return 0;
    const percent = Math.min(100, Math.ceil(this.estimate * 100));
    return this.fec ? Math.max(FEC_MIN_PERCENT, percent) : percent;
  }
}
