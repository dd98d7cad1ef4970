/**
 * Connection quality from the figures a receiver measures (PROTOCOL.md "Quality reports"):
 * a 0-100 score and warnings that switch with hysteresis. Pure; the SFU and the mesh
 * aggregation feed it samples, one per report interval.
 *
 * The score is the ITU-T G.107 E-model in the simplified form of Cole & Rosenbluth (2001),
 * rescaled so a perfect connection scores 100:
 *   d  = rttMs / 2 + 2 * jitterMs + 10          (one-way delay plus a jitter buffer, ms)
 *   Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3) (delay impairment)
 *   Ie = 95 * loss / (loss + 25)                 (loss impairment, random loss, a codec with PLC)
 *   R  = 93.2 - Id - Ie, score = round(100 * clamp(R, 0, 93.2) / 93.2)
 * So 1 % loss costs about 4 points, 10 % about 29, an RTT of 300 ms about 4 and of 400 ms about 9; a call that
 * scores under 60 sounds bad to most people (R 56 is "many users dissatisfied").
 */

export interface QualityFigures {
  /** Packets lost over the last interval, % (0-100). */
  packetLoss: number;
  jitterMs: number;
  rttMs: number;
}

export function qualityScore(f: QualityFigures): number {
  const d = f.rttMs / 2 + 2 * f.jitterMs + 10;
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  const loss = Math.min(100, Math.max(0, f.packetLoss));
  const ie = (95 * loss) / (loss + 25);
  const r = Math.min(93.2, Math.max(0, 93.2 - id - ie));
  return Math.round((100 * r) / 93.2);
}

export const QUALITY_WARNINGS = ['high-loss', 'high-jitter', 'high-rtt', 'low-bitrate', 'frozen-video', 'no-media'] as const;
export type QualityWarning = (typeof QUALITY_WARNINGS)[number];

/** One interval's measurement of a connection, with what should be flowing on it. */
export interface QualitySample extends QualityFigures {
  bitrateKbps: number;
  /** Video is expected (the participant has its camera or screen on). */
  video: boolean;
  /** Video frames a second received, when known. */
  framesPerSecond?: number;
  /** Some media is expected (audio or video on). */
  expectingMedia: boolean;
}

/**
 * Thresholds: a warning comes on at `on` and goes off only once the figure has stayed at or
 * below `off` for OFF_AFTER samples, so a figure hovering at a threshold does not flap.
 */
export const WARNING_THRESHOLDS = {
  'high-loss': { on: 5, off: 2 },
  'high-jitter': { on: 30, off: 15 },
  'high-rtt': { on: 300, off: 200 },
  /** Video only, kbit/s (on when below). */
  'low-bitrate': { on: 100, off: 150 },
} as const;
const OFF_AFTER = 2;

export class QualityWarnings {
  private readonly active = new Set<QualityWarning>();
  private readonly calm = new Map<QualityWarning, number>();

  /** Takes one sample; returns the warnings now in force, in QUALITY_WARNINGS order. */
  update(s: QualitySample): QualityWarning[] {
    const t = WARNING_THRESHOLDS;
    const noMedia = s.expectingMedia && s.bitrateKbps === 0;
    this.judge('high-loss', !noMedia && s.packetLoss >= t['high-loss'].on, s.packetLoss <= t['high-loss'].off);
    this.judge('high-jitter', !noMedia && s.jitterMs >= t['high-jitter'].on, s.jitterMs <= t['high-jitter'].off);
    this.judge('high-rtt', s.rttMs >= t['high-rtt'].on, s.rttMs <= t['high-rtt'].off);
    const videoFlowing = s.video && !noMedia;
    this.judge('low-bitrate', videoFlowing && s.bitrateKbps < t['low-bitrate'].on, !videoFlowing || s.bitrateKbps >= t['low-bitrate'].off);
    this.judge('frozen-video', videoFlowing && s.framesPerSecond === 0, !videoFlowing || (s.framesPerSecond ?? 1) > 0);
    // Media that should flow and does not is plain to see at once, both ways.
    this.judge('no-media', noMedia, !noMedia, 1);
    return QUALITY_WARNINGS.filter((w) => this.active.has(w));
  }

  private judge(w: QualityWarning, on: boolean, calm: boolean, offAfter = OFF_AFTER): void {
    if (on) {
      this.active.add(w);
      this.calm.set(w, 0);
      return;
    }
    if (!this.active.has(w)) return;
    const n = calm ? (this.calm.get(w) ?? 0) + 1 : 0;
    this.calm.set(w, n);
    if (n >= offAfter) this.active.delete(w);
  }
}

/** Loss over an interval from cumulative counts (RTP receiver statistics), %. */
export class IntervalLoss {
  private expected = 0;
  private received = 0;

  /** Cumulative `expected` and `received` now; returns the loss since the last call, % (0 when nothing was expected). */
  next(expected: number, received: number): number {
    const e = expected - this.expected;
    const r = received - this.received;
    this.expected = expected;
    this.received = received;
    if (e <= 0) return 0;
    return Math.min(100, Math.max(0, (100 * (e - r)) / e));
  }
}
