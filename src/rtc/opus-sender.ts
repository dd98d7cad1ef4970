/**
 * Sends Opus as RTP on a MediaTrack, each header written by media/rtp.ts's writeRtpHeader
 * (the track has no media handler, so the bytes go out as given): random initial sequence
 * number and timestamp (RFC 3550 §5.1), +960 ticks per 20 ms frame at 48 kHz, the marker bit
 * on the first packet of each talk spurt (RFC 7587 §4.1: after silence/DTX or a stall). RTCP sender reports go
 * out every `reportIntervalMs` (randomised ±50 %, RFC 3550 §6.2) with an SDES CNAME; the
 * receiver reports the remote sends back are decoded into loss, jitter and RTT (`report`).
 *
 * Two ways to feed it: `sendFrame()` for packets pushed by code at its own pace, or
 * `play(source)` where a drift-free 20 ms Pacer pulls frames from an OpusSource.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import {
  buildRtcp, cnameSdes, ntpFromUnixMs, ntpMiddle32, rttMs, type ReportBlock,
} from '../media/rtcp.js';
import type { OpusSource } from '../media/opus-sources.js';
import { RTP_HEADER_MIN, writeRtpHeader, type RtpHeader } from '../media/rtp.js';
import { silentLogger, type Logger } from '../log.js';
import { systemClock, type Clock } from '../time/clock.js';
import { Pacer } from '../time/pacer.js';
import { ReportTimer, readRtcp } from './rtcp-schedule.js';
import type { MediaTrack } from './media-track.js';

/** Ticks of a 20 ms frame at Opus' fixed 48 kHz RTP clock (RFC 7587 §4.1). */
export const OPUS_FRAME_TICKS = 960;
const OPUS_CLOCK_RATE = 48000;

/** What the remote said about our stream in its last report block. */
export interface RemoteReceptionReport {
  /** Fraction of packets lost in the remote's last interval, 0..1. */
  fractionLost: number;
  /** Cumulative packets lost as the remote counts them. */
  cumulativeLost: number;
  /** Interarrival jitter, ms. */
  jitterMs: number;
  /** Round-trip time from LSR/DLSR, ms; undefined until the remote has seen one of our SRs. */
  rttMs: number | undefined;
  /** Extended highest sequence number the remote received. */
  highestSeq: number;
}

export interface OpusSenderStats {
  ssrc: number;
  packetsSent: number;
  /** Payload octets sent (RTP headers excluded, as the SR field counts them). */
  octetsSent: number;
  /** The latest report from the remote, if any. */
  remote: RemoteReceptionReport | undefined;
}

export interface OpusSenderEvents {
  report: [report: RemoteReceptionReport];
  /** The played source ended. */
  ended: [];
  /** The played source threw; playback stopped. */
  error: [err: unknown];
}

export interface OpusSenderOptions {
  /** Default: the track's negotiated payload type, else 111. */
  payloadType?: number;
  /** Mean interval between sender reports, ms (default 1000; each is randomised ±50 %). */
  reportIntervalMs?: number;
  /** Monotonic clock and timers (Pacer and report timer; default system). */
  clock?: Clock;
  /** Wall clock in Unix ms for NTP timestamps (default Date.now). */
  wallClock?: () => number;
  logger?: Logger;
}

function random32(): number {
  return randomBytes(4).readUInt32BE(0);
}

export class OpusSender extends EventEmitter<OpusSenderEvents> {
  readonly ssrc: number;
  readonly payloadType: number;
  private seq = randomBytes(2).readUInt16BE(0);
  private readonly tsBase = random32();
  /** Timestamp of the next pushed frame (push mode) and of the last sent packet. */
  private nextTs = this.tsBase;
  private lastTs = this.tsBase;
  private lastSendMono: number | undefined;
  private packets = 0;
  private octets = 0;
  private needMarker = true;
  private remote: RemoteReceptionReport | undefined;
  private pacer: Pacer | undefined;
  /** The source play() plays: told what the remote reports of loss (its encoder's FEC hint). */
  private source: OpusSource | undefined;
  private readonly reportTimer: ReportTimer;
  private closedFlag = false;
  private readonly clock: Clock;
  private readonly wallClock: () => number;
  private readonly reportIntervalMs: number;
  private readonly log: Logger;
  /** One buffer for every packet: sendMessageBinary copies synchronously. */
  private packet = Buffer.alloc(1500);
  /** The header of every packet, one object: sequence number, timestamp and marker set per packet. */
  private readonly header: RtpHeader;
  private readonly onRtcp = (p: Buffer) => this.handleRtcp(p);

  constructor(private readonly track: MediaTrack, options: OpusSenderOptions = {}) {
    super();
    this.ssrc = track.localSsrc;
    this.payloadType = options.payloadType ?? track.codec?.payloadType ?? 111;
    this.header = {
      padding: false, marker: false, payloadType: this.payloadType, sequenceNumber: 0, timestamp: 0, ssrc: this.ssrc,
      csrcs: [], extensionProfile: undefined, extensions: [], extensionData: undefined,
    };
    // Checks the fields once: a payload type outside 0..127 throws TypeError here rather than go out corrupt.
    writeRtpHeader(this.header, this.packet, 0);
    this.clock = options.clock ?? systemClock;
    // Sub-millisecond wall time: RTT on a LAN or loopback is well under a millisecond.
    this.wallClock = options.wallClock ?? (() => performance.timeOrigin + performance.now());
    this.reportIntervalMs = options.reportIntervalMs ?? 1000;
    this.log = (options.logger ?? silentLogger()).child({ mid: track.mid, ssrc: this.ssrc });
    track.on('rtcp', this.onRtcp);
    track.once('closed', () => this.close());
    this.reportTimer = new ReportTimer(() => this.sendReport(), this.reportIntervalMs, this.clock);
  }

  /**
   * Sends one 20 ms Opus packet now with the next timestamp. Returns false (and consumes no
   * sequence number) when the track is not open. `marker` forces a talk-spurt start.
   */
  sendFrame(opus: Buffer, marker = false): boolean {
    const ts = this.nextTs;
    this.nextTs = (this.nextTs + OPUS_FRAME_TICKS) >>> 0;
    return this.sendAt(opus, ts, marker);
  }

  /** Marks a gap in pushed audio (silence, DTX): the next packet carries the marker bit. */
  skipFrames(count: number): void {
    this.nextTs = (this.nextTs + count * OPUS_FRAME_TICKS) >>> 0;
    this.needMarker = true;
  }

  /** Plays a source in real time, one frame per 20 ms, until it ends or stop(). */
  play(source: OpusSource): void {
    this.stop();
    const start = this.nextTs;
    const pacer = new Pacer((index, skipped) => {
      if (skipped > 0) this.needMarker = true;
      let frame: Buffer | undefined;
      try {
        frame = source.nextFrame(index);
      } catch (err) {
        this.stop();
        this.log.warn({ err }, 'opus source failed');
        if (this.listenerCount('error') > 0) this.emit('error', err);
        return;
      }
      const ts = (start + index * OPUS_FRAME_TICKS) >>> 0;
      this.nextTs = (ts + OPUS_FRAME_TICKS) >>> 0;
      if (frame) {
        this.sendAt(frame, ts, false);
      } else if (source.ended) {
        this.stop();
        this.emit('ended');
      } else {
        this.needMarker = true; // silence: the next packet starts a talk spurt
      }
    }, { clock: this.clock });
    this.pacer = pacer;
    this.source = source;
    pacer.start();
  }

  /** Stops playing (the sender stays usable; reports continue). */
  stop(): void {
    this.pacer?.stop();
    this.pacer = undefined;
    this.source = undefined;
  }

  get playing(): boolean {
    return this.pacer?.running ?? false;
  }

  stats(): OpusSenderStats {
    return { ssrc: this.ssrc, packetsSent: this.packets, octetsSent: this.octets, remote: this.remote };
  }

  /** Sends an RTCP sender report (with SDES CNAME) now. False when not sent (nothing sent yet, or closed). */
  sendReport(): boolean {
    if (this.closedFlag || this.packets === 0 || this.lastSendMono === undefined) return false;
    const wall = this.wallClock();
    const ntp = ntpFromUnixMs(wall);
    // The RTP time of "now", extrapolated from the last packet sent (RFC 3550 §6.4.1).
    const elapsedTicks = Math.round(((this.clock.now() - this.lastSendMono) * OPUS_CLOCK_RATE) / 1000);
    const rtcp = buildRtcp([
      {
        type: 'sr', ssrc: this.ssrc, ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction,
        rtpTimestamp: (this.lastTs + elapsedTicks) >>> 0, packetCount: this.packets >>> 0, octetCount: this.octets >>> 0, reports: [],
      },
      cnameSdes(this.ssrc, this.track.cname),
    ]);
    return this.track.send(rtcp);
  }

  /** Stops playback and reports, detaches from the track. Idempotent. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.stop();
    this.reportTimer.stop();
    this.track.off('rtcp', this.onRtcp);
    this.removeAllListeners();
  }

  private sendAt(opus: Buffer, ts: number, marker: boolean): boolean {
    if (this.closedFlag || !this.track.isOpen()) return false;
    const h = this.header;
    h.marker = marker || this.needMarker;
    h.sequenceNumber = this.seq;
    h.timestamp = ts >>> 0;
    // No CSRCs, no extension: the header is RTP_HEADER_MIN (12) bytes.
    if (RTP_HEADER_MIN + opus.length > this.packet.length) this.packet = Buffer.alloc(RTP_HEADER_MIN + opus.length);
    const p = this.packet;
    const offset = writeRtpHeader(h, p, 0);
    opus.copy(p, offset);
    if (!this.track.send(p.subarray(0, offset + opus.length))) return false;
    this.seq = (this.seq + 1) & 0xffff;
    this.needMarker = false;
    this.lastTs = ts >>> 0;
    this.lastSendMono = this.clock.now();
    this.packets++;
    this.octets += opus.length;
    return true;
  }


  private handleRtcp(packet: Buffer): void {
    for (const p of readRtcp(packet, this.log)) {
      if (p.type !== 'rr' && p.type !== 'sr') continue;
      const block = p.reports.find((b) => b.ssrc === this.ssrc);
      if (block) this.takeReport(block);
    }
  }

  private takeReport(b: ReportBlock): void {
    const now = ntpFromUnixMs(this.wallClock());
    this.remote = {
      fractionLost: b.fractionLost / 256,
      cumulativeLost: b.packetsLost,
      jitterMs: (b.jitter * 1000) / OPUS_CLOCK_RATE,
      rttMs: rttMs(ntpMiddle32(now.seconds, now.fraction), b.lsr, b.dlsr),
      highestSeq: b.highestSeq,
    };
    this.emit('report', this.remote);
    try {
      this.source?.reportLoss?.(this.remote.fractionLost);
    } catch (err) {
      this.log.warn({ err }, 'opus source refused a loss report');
    }
  }
}

/**
 * The highest fraction lost (0..1) in the senders' latest receiver reports, 0 when none has
 * one: what an encoder whose packets go out on all of them protects for (its FEC hint).
 */
export function worstFractionLost(senders: Iterable<OpusSender>): number {
  let worst = 0;
  for (const s of senders) worst = Math.max(worst, s.stats().remote?.fractionLost ?? 0);
  return worst;
}
