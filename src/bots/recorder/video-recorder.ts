/**
 * Records one received video track into a file without re-encoding: RtpReceiver (stats,
 * receiver reports) -> depacketizer (VP8, or H264 into Annex B access units) -> file writer
 * (IvfWriter for VP8, AnnexBWriter for H264). The file opens at the first key frame;
 * frame times are on the session's timeline like the audio files (pts 0 = the session start,
 * 1/90000 s), placed by RTP timestamp from the earliest start that the arrivals of the first 2 s
 * of frames allow (held until then). After a lost packet it asks the sender for a key frame
 * (RTCP PLI, at most every 500 ms) and skips frames until one comes, so the file always decodes.
 */
import type { Logger } from '../../log.js';
import { IVF_RATE } from '../../media/ivf.js';
import { buildRtcp } from '../../media/rtcp.js';
import { tsDiff, type RtpPacketInfo } from '../../media/rtp.js';
import type { FramePacket, FrameStats } from '../../media/frame-assembler.js';
import { H264Depacketizer } from '../../media/h264-packetizer.js';
import { Vp8Depacketizer } from '../../media/vp8.js';
import type { MediaTrack } from '../../rtc/media-track.js';
import { RtpReceiver } from '../../rtc/rtp-receiver.js';
import type { PacketCounts } from './manifest.js';

const PLI_INTERVAL_MS = 500;

/** Video codecs the recorder writes: VP8 into IVF, H264 into raw Annex B. */
export type RecordedVideoCodec = 'vp8' | 'h264';

/** What a video file writer takes (IvfWriter, AnnexBWriter). */
export interface VideoFileWriter {
  /** Appends one frame at `pts` (1/90000 s); a key frame's size when the codec tells it. */
  writeFrame(frame: Uint8Array, pts: number, size?: { width: number; height: number }): void;
  flush(): void;
  /** Finalizes the file. Idempotent; throws IO_ERROR. */
  close(): void;
}

/** A depacketized frame, whatever the codec. */
interface VideoFrame { data: Buffer; timestamp: number; width?: number; height?: number }

export interface VideoRecorderOptions {
  codec: RecordedVideoCodec;
  /** Session start on performance.now()'s clock, ms. */
  startMs: number;
  /** Creates the file, at the first key frame. */
  open: () => VideoFileWriter;
  /** A write failed (in the packet path, where nothing may throw). */
  onError: (err: unknown) => void;
  logger?: Logger;
}

/** Frames held at the start of a track before it is placed on the timeline, ms. */
const HOLD_MS = 2000;

export class VideoTrackRecorder {
  private readonly receiver: RtpReceiver;
  private readonly frames: { push(p: FramePacket): void; readonly stats: FrameStats };
  private writer: VideoFileWriter | undefined;
  private ssrc = 0;
  private lastTs = 0;
  private extTs = 0;
  /** pts of the last frame written; the first frame's pts and extended timestamp anchor the rest. */
  private lastPts = -1;
  private firstPts = 0;
  private anchorPts = 0;
  private anchorTs = 0;
  private lastPliMs = -Infinity;
  private halted = false;
  /** The first HOLD_MS of frames, kept until the anchor is known (undefined once written). */
  private held: { data: Buffer; ext: number; size: { width: number; height: number } | undefined; arrival: number }[] | undefined = [];

  constructor(readonly track: MediaTrack, private readonly options: VideoRecorderOptions) {
    this.receiver = new RtpReceiver(track, {
      attach: false, clockRate: IVF_RATE, ...(options.logger && { logger: options.logger }), onPacket: (p, h) => this.onPacket(p, h),
    });
    const onFrame = (f: VideoFrame): void => this.onFrame(f);
    const onNeedKeyframe = (): void => this.requestKeyframe();
    this.frames = options.codec === 'h264' ? new H264Depacketizer(onFrame, onNeedKeyframe) : new Vp8Depacketizer(onFrame, onNeedKeyframe);
    track.onRtp = (p) => this.receiver.handleRtp(p);
  }

  get started(): boolean {
    return this.writer !== undefined;
  }

  get stats(): FrameStats {
    return this.frames.stats;
  }

  /** RTP packets as RFC 3550 counts them; frames with a missing packet are in stats.dropped. */
  packetCounts(): PacketCounts {
    const rx = this.receiver.stats();
    return {
      received: rx.reduce((n, s) => n + s.received, 0),
      lost: rx.reduce((n, s) => n + Math.max(0, s.cumulativeLost), 0),
      late: 0,
      duplicates: 0,
    };
  }

  get offsetMs(): number {
    return Math.round(this.firstPts / (IVF_RATE / 1000));
  }

  get durationMs(): number {
    return Math.max(0, Math.round(this.lastPts / (IVF_RATE / 1000)));
  }

  halt(): void {
    this.halted = true;
  }

  tick(_nowMs: number, flush: boolean): void {
    if (flush && !this.halted) this.writer?.flush();
  }

  /** Closes the file (header patched). Idempotent; throws IO_ERROR. */
  finish(_untilMs?: number): void {
    this.receiver.close();
    if (!this.halted && this.writer && this.held) this.release();
    this.halted = true;
    this.writer?.close();
  }

  private onPacket(packet: Buffer, h: RtpPacketInfo): void {
    if (this.halted) return;
    this.ssrc = h.ssrc;
    this.frames.push({ sequenceNumber: h.sequenceNumber, timestamp: h.timestamp, marker: h.marker, payload: packet.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength) });
  }

  private onFrame(f: VideoFrame): void {
    try {
      const size = f.width !== undefined && f.height !== undefined ? { width: f.width, height: f.height } : undefined;
      if (!this.writer) {
        this.writer = this.options.open();
        this.lastTs = f.timestamp;
        this.extTs = f.timestamp;
      }
      this.extTs += tsDiff(f.timestamp, this.lastTs);
      this.lastTs = f.timestamp;
      if (this.held) {
        const arrival = Math.round((performance.now() - this.options.startMs) * (IVF_RATE / 1000));
        this.held.push({ data: f.data, ext: this.extTs, size, arrival });
        if (arrival - this.held[0]!.arrival >= HOLD_MS * (IVF_RATE / 1000)) this.release();
        return;
      }
      this.write(f.data, this.extTs, size);
    } catch (err) {
      this.halted = true;
      this.options.onError(err);
    }
  }

  /**
   * Places the held frames, and so the track: a camera's first frames often leave the sender
   * late (its encoder starting, a large key frame), and anchoring the track at the first one's
   * arrival would put the whole track that much late against the audio. The anchor is the
   * earliest start the held frames' arrivals and timestamps allow.
   */
  private release(): void {
    const held = this.held!;
    this.held = undefined;
    const first = held[0]!;
    this.anchorTs = first.ext;
    let anchor = first.arrival;
    for (const h of held) {
      const delta = h.ext - first.ext;
      // A timestamp jump (a sender restarting its clock) says nothing about the start.
      if (delta >= 0 && delta <= (HOLD_MS + 1000) * (IVF_RATE / 1000)) anchor = Math.min(anchor, h.arrival - delta);
    }
    this.anchorPts = Math.max(0, anchor);
    this.firstPts = this.anchorPts;
    for (const h of held) this.write(h.data, h.ext, h.size);
  }

  private write(data: Buffer, ext: number, size: { width: number; height: number } | undefined): void {
    // Timestamps only go forward in the file, whatever the sender did.
    const pts = Math.max(this.lastPts + 1, this.anchorPts + (ext - this.anchorTs));
    this.lastPts = pts;
    this.writer!.writeFrame(data, pts, size);
  }

  private requestKeyframe(): void {
    const now = performance.now();
    if (now - this.lastPliMs < PLI_INTERVAL_MS || this.ssrc === 0) return;
    this.lastPliMs = now;
    this.track.send(buildRtcp([{ type: 'pli', senderSsrc: this.track.localSsrc, mediaSsrc: this.ssrc }]));
  }
}
