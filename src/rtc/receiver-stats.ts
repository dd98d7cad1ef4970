/**
 * Reception statistics of one RTP source, exactly as RFC 3550 appendix A computes them:
 * A.1 sequence validation (probation, wrap at 65535 counted in `cycles`, big jumps, restarts),
 * A.3 expected vs received and the per-interval fraction lost, A.8 interarrival jitter.
 * Pure: the caller passes arrival times (monotonic ms), so tests drive it with synthetic
 * packets; RtpReceiver feeds it from a track and sends the report blocks it builds.
 */
import { fractionLost, ntpMiddle32, updateJitter, type ReportBlock } from '../media/rtcp.js';
import { tsDiff } from '../media/rtp.js';

const RTP_SEQ_MOD = 1 << 16;
/** A.1: a forward jump under this is packet loss, not a restart. */
const MAX_DROPOUT = 3000;
/** A.1: a backward step under this is reordering/duplication. */
const MAX_MISORDER = 100;

export interface ReceiverStatsSnapshot {
  ssrc: number;
  /** Packets received and counted (duplicates included, as RFC 3550 does). */
  received: number;
  /** Extended highest sequence number received (cycles + max_seq). */
  extendedHighestSeq: number;
  /** Packets expected from the first to the highest sequence number. */
  expected: number;
  /** expected - received, clamped to the signed 24-bit report field. */
  cumulativeLost: number;
  /** Interarrival jitter in RTP timestamp units. */
  jitter: number;
  /** The same in ms. */
  jitterMs: number;
  /** Bytes of RTP received (headers included). */
  bytes: number;
}

export class ReceiverStats {
  private probation: number;
  private readonly minSequential: number;
  private maxSeq = 0;
  private cycles = 0;
  private baseSeq = 0;
  private badSeq = RTP_SEQ_MOD + 1;
  private receivedCount = 0;
  private receivedPrior = 0;
  private expectedPrior = 0;
  private jitterUnits = 0;
  private lastArrivalUnits: number | undefined;
  private lastRtpTs = 0;
  private lsr = 0;
  private lastSrArrivalMs: number | undefined;
  private byteCount = 0;

  /**
   * @param ssrc the source
   * @param clockRate its RTP clock in Hz (48000 for Opus, 90000 for video)
   * @param minSequential packets in sequence before the source counts (RFC default 2; 1 trusts
   *   the first packet, fine for an SSRC signaled in SDP)
   */
  constructor(readonly ssrc: number, readonly clockRate: number, minSequential = 2) {
    if (!(clockRate > 0)) throw new TypeError('clockRate must be > 0');
    if (!(Number.isInteger(minSequential) && minSequential >= 1)) throw new TypeError('minSequential must be an integer >= 1');
    this.minSequential = minSequential;
    this.probation = minSequential;
    this.maxSeq = -1; // so the first packet is "in sequence" (A.1: max_seq = seq - 1)
  }

  /**
   * Accounts one RTP packet. `arrivalMs` is a monotonic receive time in ms. Returns false for
   * a packet A.1 does not count (still in probation, or the first of a big jump).
   */
  onPacket(seq: number, rtpTimestamp: number, arrivalMs: number, bytes = 0): boolean {
    if (!this.updateSeq(seq & 0xffff)) return false;
    this.byteCount += bytes;
    const arrivalUnits = (arrivalMs * this.clockRate) / 1000;
    if (this.lastArrivalUnits !== undefined) {
      // D(i-1,i) = (Rj - Ri) - (Sj - Si), wrap-safe on the RTP timestamp (A.8).
      const d = arrivalUnits - this.lastArrivalUnits - tsDiff(rtpTimestamp >>> 0, this.lastRtpTs);
      this.jitterUnits = updateJitter(this.jitterUnits, d);
    }
    this.lastArrivalUnits = arrivalUnits;
    this.lastRtpTs = rtpTimestamp >>> 0;
    return true;
  }

  /** Remembers a sender report from this source for LSR/DLSR (NTP timestamp as sent). */
  onSenderReport(ntpSeconds: number, ntpFraction: number, arrivalMs: number): void {
    this.lsr = ntpMiddle32(ntpSeconds, ntpFraction);
    this.lastSrArrivalMs = arrivalMs;
  }

  get extendedHighestSeq(): number {
    return this.cycles + this.maxSeq;
  }

  get expected(): number {
    return this.receivedCount === 0 ? 0 : this.extendedHighestSeq - this.baseSeq + 1;
  }

  get cumulativeLost(): number {
    return Math.max(-0x800000, Math.min(0x7fffff, this.expected - this.receivedCount));
  }

  snapshot(): ReceiverStatsSnapshot {
    return {
      ssrc: this.ssrc,
      received: this.receivedCount,
      extendedHighestSeq: this.extendedHighestSeq >>> 0,
      expected: this.expected,
      cumulativeLost: this.cumulativeLost,
      jitter: Math.floor(this.jitterUnits),
      jitterMs: (this.jitterUnits * 1000) / this.clockRate,
      bytes: this.byteCount,
    };
  }

  /**
   * The report block for an RR/SR sent at `nowMs` (same clock as arrivals). Starts a new
   * interval for the fraction lost (A.3), so call it once per report sent.
   */
  reportBlock(nowMs: number): ReportBlock {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.receivedCount - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.receivedCount;
    return {
      ssrc: this.ssrc,
      fractionLost: fractionLost(expectedInterval, receivedInterval),
      packetsLost: this.cumulativeLost,
      highestSeq: this.extendedHighestSeq >>> 0,
      jitter: Math.floor(this.jitterUnits) >>> 0,
      lsr: this.lsr,
      dlsr: this.lastSrArrivalMs === undefined ? 0 : Math.max(0, Math.round(((nowMs - this.lastSrArrivalMs) * 65536) / 1000)) >>> 0,
    };
  }

  /** A.1 init_seq. */
  private initSeq(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = RTP_SEQ_MOD + 1;
    this.cycles = 0;
    this.receivedCount = 0;
    this.receivedPrior = 0;
    this.expectedPrior = 0;
  }

  /** A.1 update_seq. */
  private updateSeq(seq: number): boolean {
    const udelta = (seq - this.maxSeq) & 0xffff;
    if (this.probation > 0) {
      if (this.maxSeq < 0 || seq === ((this.maxSeq + 1) & 0xffff)) {
        this.probation--;
        this.maxSeq = seq;
        if (this.probation === 0) {
          this.initSeq(seq);
          this.receivedCount++;
          return true;
        }
      } else {
        this.probation = this.minSequential - 1;
        this.maxSeq = seq;
      }
      return false;
    }
    if (udelta < MAX_DROPOUT) {
      if (seq < this.maxSeq) this.cycles += RTP_SEQ_MOD; // wrapped
      this.maxSeq = seq;
    } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
      if (seq === this.badSeq) {
        // Two sequential packets after a big jump: the source restarted.
        this.initSeq(seq);
      } else {
        this.badSeq = (seq + 1) & 0xffff;
        return false;
      }
    }
    // else: duplicate or reordered packet, counted but max_seq unchanged
    this.receivedCount++;
    return true;
  }
}
