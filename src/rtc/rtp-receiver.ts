/**
 * The receiving side of an RtpTrack: parses each RTP header, keeps RFC 3550 statistics per
 * SSRC (ReceiverStats), remembers the remote's sender reports (for LSR/DLSR) and sends
 * receiver reports back every `reportIntervalMs` (randomised ±50 %, RFC 3550 §6.2), so the
 * remote sender learns loss, jitter and RTT. Each valid packet is handed on to `onPacket`
 * (a decoder, a recorder) with its parsed header.
 */
import { buildRtcp, cnameSdes } from '../media/rtcp.js';
import { parseRtpHeader, type RtpPacketInfo } from '../media/rtp.js';
import { silentLogger, type Logger } from '../log.js';
import { systemClock, type Clock } from '../time/clock.js';
import { ReportTimer, readRtcp } from './rtcp-schedule.js';
import { ReceiverStats, type ReceiverStatsSnapshot } from './receiver-stats.js';
import type { RtpTrack } from './media-track.js';

export type RtpPacketHandler = (packet: Buffer, header: RtpPacketInfo) => void;

/**
 * What the RtpReceiver reading a track has counted so far. The receiver puts a reader of it on
 * its track (`track.reception`), so whoever owns the connection can report on it (MeshAgent's
 * `stats`) without parsing every packet a second time.
 */
export interface TrackReception {
  /** Every source heard (RFC 3550 counts, bytes with headers). */
  sources: ReceiverStatsSnapshot[];
  /** Video: frames completed (packets with the RTP marker bit set); 0 on an audio track. */
  frames: number;
}

export interface RtpReceiverOptions {
  /** Called with every parsed RTP packet (payload at `header.payloadOffset`). */
  onPacket?: RtpPacketHandler;
  /** Mean interval between receiver reports, ms (default 1000). */
  reportIntervalMs?: number;
  /** RTP clock rate, Hz (default: the negotiated codec's, else 48000). */
  clockRate?: number;
  /** Monotonic clock and timers (default system). */
  clock?: Clock;
  /**
   * Take the track's RTP callback (default true). False when the caller sits in between
   * (a test dropping packets) and calls handleRtp() itself.
   */
  attach?: boolean;
  logger?: Logger;
}

export class RtpReceiver {
  private readonly sources = new Map<number, ReceiverStats>();
  private last: ReceiverStats | undefined;
  private readonly clock: Clock;
  private readonly clockRate: number;
  private readonly reportIntervalMs: number;
  private readonly onPacket: RtpPacketHandler | undefined;
  private readonly log: Logger;
  private readonly reportTimer: ReportTimer;
  private closedFlag = false;
  private readonly attached: boolean;
  /** Packets whose header did not parse. */
  malformed = 0;
  /** Video frames completed (marker bit), see TrackReception. */
  private frames = 0;
  private readonly countFrames: boolean;
  private readonly reception = (): TrackReception => ({ sources: this.stats(), frames: this.frames });
  private readonly onRtcp = (p: Buffer) => this.handleRtcp(p);

  constructor(private readonly track: RtpTrack, options: RtpReceiverOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.clockRate = options.clockRate ?? track.codec?.clockRate ?? 48000;
    this.reportIntervalMs = options.reportIntervalMs ?? 1000;
    this.onPacket = options.onPacket;
    this.log = (options.logger ?? silentLogger()).child({ mid: track.mid });
    this.attached = options.attach ?? true;
    if (this.attached) track.onRtp = (p) => this.handleRtp(p);
    track.on('rtcp', this.onRtcp);
    track.once('closed', () => this.close());
    this.countFrames = track.kind === 'video';
    track.reception = this.reception;
    this.reportTimer = new ReportTimer(() => this.sendReport(), this.reportIntervalMs, this.clock);
  }

  /** Accounts and hands on one RTP packet. */
  handleRtp(packet: Buffer): void {
    if (this.closedFlag) return;
    let header: RtpPacketInfo;
    try {
      header = parseRtpHeader(packet);
    } catch {
      this.malformed++; // counted, not fatal: a peer can send junk
      return;
    }
    // A track has one source (two with RTX): skip the map for a repeat of the last one.
    let stats = this.last?.ssrc === header.ssrc ? this.last : this.sources.get(header.ssrc);
    if (!stats) {
      // SSRCs come from the SDP, so the first packet is trusted (no A.1 probation).
      stats = new ReceiverStats(header.ssrc, this.clockRate, 1);
      this.sources.set(header.ssrc, stats);
    }
    this.last = stats;
    stats.onPacket(header.sequenceNumber, header.timestamp, this.clock.now(), packet.length);
    if (header.marker && this.countFrames) this.frames++;
    this.onPacket?.(packet, header);
  }

  /** Statistics of every source heard so far. */
  stats(): ReceiverStatsSnapshot[] {
    return [...this.sources.values()].map((s) => s.snapshot());
  }

  /** Sends a receiver report (with SDES CNAME) now; false when nothing was received yet or closed. */
  sendReport(): boolean {
    if (this.closedFlag || this.sources.size === 0) return false;
    const now = this.clock.now();
    // An RR carries at most 31 blocks; a track has one or two sources.
    const reports = [...this.sources.values()].slice(0, 31).map((s) => s.reportBlock(now));
    const rtcp = buildRtcp([
      { type: 'rr', ssrc: this.track.localSsrc, reports },
      cnameSdes(this.track.localSsrc, this.track.cname),
    ]);
    return this.track.send(rtcp);
  }

  /** Stops reports and detaches from the track. Idempotent. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.reportTimer.stop();
    this.track.off('rtcp', this.onRtcp);
    if (this.attached) this.track.onRtp = undefined;
    if (this.track.reception === this.reception) this.track.reception = undefined;
  }


  private handleRtcp(packet: Buffer): void {
    for (const p of readRtcp(packet, this.log)) {
      if (p.type === 'sr') this.sources.get(p.ssrc)?.onSenderReport(p.ntpSeconds, p.ntpFraction, this.clock.now());
    }
  }
}
