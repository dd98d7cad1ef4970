/**
 * Records one received audio track: RtpReceiver (RFC 3550 stats, receiver reports to the
 * sender) -> TrackTimeline (positions, silence) -> TrackWriter (Ogg Opus pages). The file is
 * opened at the first packet by the `open` callback, so a track that never sends has none.
 */
import type { Logger } from '../../log.js';
import type { RtpPacketInfo } from '../../media/rtp.js';
import type { MediaTrack } from '../../rtc/media-track.js';
import { RtpReceiver } from '../../rtc/rtp-receiver.js';
import { SAMPLES_PER_MS, TrackTimeline, type TimelineOptions, type TimelineStats } from './track-timeline.js';
import type { PacketCounts } from './manifest.js';
import type { TrackWriter } from './track-writer.js';

export interface TrackRecorderOptions {
  /** Session start on performance.now()'s clock, ms. */
  startMs: number;
  /** Creates the file, at the first packet. */
  open: () => TrackWriter;
  /** A write failed (in the packet path, where nothing may throw). */
  onError: (err: unknown) => void;
  timeline?: Omit<TimelineOptions, 'startMs'>;
  /** Test hook: packets for which this returns true are dropped before anything sees them. */
  dropPacket?: (index: number) => boolean;
  logger?: Logger;
}

export class TrackRecorder {
  private readonly receiver: RtpReceiver;
  private timeline: TrackTimeline | undefined;
  private writer: TrackWriter | undefined;
  private halted = false;

  constructor(readonly track: MediaTrack, private readonly options: TrackRecorderOptions) {
    this.receiver = new RtpReceiver(track, { attach: false, ...(options.logger && { logger: options.logger }), onPacket: (p, h) => this.onPacket(p, h) });
    const drop = options.dropPacket;
    let n = 0;
    track.onRtp = drop ? (p) => { if (!drop(n++)) this.receiver.handleRtp(p); } : (p) => this.receiver.handleRtp(p);
  }

  /** True once the first packet opened the file. */
  get started(): boolean {
    return this.timeline !== undefined;
  }

  get stats(): TimelineStats | undefined {
    return this.timeline?.stats;
  }

  packetCounts(): PacketCounts {
    const { received, lost, late, duplicates } = this.timeline?.stats ?? { received: 0, lost: 0, late: 0, duplicates: 0 };
    return { received, lost, late, duplicates };
  }

  /** Where the first audio sits and how long the file runs, ms from the session start. */
  get offsetMs(): number {
    return Math.round((this.timeline?.firstAudioAt ?? 0) / SAMPLES_PER_MS);
  }

  get durationMs(): number {
    return Math.round((this.timeline?.position ?? 0) / SAMPLES_PER_MS);
  }

  /** Stops taking packets (recording failed or is stopping); finish() then writes nothing more. */
  halt(): void {
    this.halted = true;
  }

  /** Releases held packets, pads silence, and with `flush` writes pending pages. Throws IO_ERROR. */
  tick(nowMs: number, flush: boolean): void {
    if (!this.timeline || this.halted) return;
    this.timeline.advance(nowMs);
    if (flush) this.writer!.flush();
  }

  /**
   * Ends the file: held packets, silence up to `untilMs` (performance.now() clock), the EOS
   * page. Idempotent. Throws IO_ERROR (the file is closed anyway).
   */
  finish(untilMs: number): void {
    this.receiver.close();
    const { timeline, writer } = this;
    if (!timeline || !writer || writer.closed) return;
    try {
      if (!this.halted) timeline.drain(untilMs);
    } finally {
      this.halted = true;
      writer.close();
    }
  }

  private onPacket(packet: Buffer, h: RtpPacketInfo): void {
    if (this.halted) return;
    try {
      if (!this.timeline) {
        const writer = this.options.open();
        this.writer = writer;
        this.timeline = new TrackTimeline((frame) => writer.write(frame), { ...this.options.timeline, startMs: this.options.startMs });
      }
      this.timeline.push({
        ssrc: h.ssrc,
        sequenceNumber: h.sequenceNumber,
        timestamp: h.timestamp,
        // A copy from Node's pool: the native packet Buffer (with a finalizer) then dies young
        // instead of living until its page is written.
        payload: Buffer.from(packet.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)),
        arrivalMs: performance.now(),
      });
    } catch (err) {
      this.halted = true;
      this.options.onError(err);
    }
  }
}
