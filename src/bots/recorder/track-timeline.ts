/**
 * Places one participant track's Opus RTP packets on the session's timeline, so the file
 * written from them keeps wall-clock time (pauses, DTX and lost packets become silence, never
 * collapse) and lines up with every other file of the session. Pure: arrival times come in
 * with the packets, frames go out through a sink.
 *
 * Positions are 48 kHz samples from the session start; a frame's Ogg granule is the position
 * of its end (plus the writer's pre-skip). How a packet gets its position:
 * - a reordering buffer keyed by the extended sequence number (wrap-around safe) releases a
 *   packet at once when it is the next one expected, otherwise after `reorderWindowMs`;
 *   duplicates and packets behind the last one released are counted and dropped;
 * - the first release waits `startupWindowMs` and anchors the stream at the least delayed
 *   packet's arrival (arrival minus its RTP time), rounded to 2.5 ms;
 * - after that a packet's position is the anchor plus its RTP timestamp distance (extended
 *   over 2^32), because the sender's clock knows pauses better than arrival jitter does;
 * - a gap before a packet is filled with Opus silence frames (20 ms, then 10/5/2.5 ms for
 *   the rest), except that when packets were lost and the gap holds nothing else (no pause),
 *   the last 20 ms slots before the packet (up to CONCEAL_FRAMES of them) get lost-packet
 *   markers, a TOC byte alone: players conceal them (libopus PLC) instead of playing silence,
 *   and our mixer rebuilds the last one from the packet's in-band FEC (opus-loss-decoder.ts);
 *   `advance()` pads while nothing arrives, up to `maxLagMs` behind now, so a
 *   crash leaves files that run to about the crash;
 * - a packet that arrives before its place (by more than `earlyMs`) shows the anchor was late
 *   (the first packets were all held up, or the sender's clock runs fast): the next gap (a
 *   pause, a lost packet) is shortened by that much, so the stream moves back in place without
 *   dropping audio;
 * - when even the least delayed of a second's packets arrived more than `earlyMs` after its
 *   place, the stream sits early (the sender's clock runs slow): the next gap is lengthened by
 *   that much;
 * - timestamps that disagree with the wall clock by more than `resyncMs`, a new SSRC, or a
 *   run of packets that all land behind what is written (sender clock drift) re-anchor the
 *   stream at the current position.
 */
import { CONCEAL_FRAMES } from '../../media/opus-loss-decoder.js';
import { opusLossMarker, opusPacketSamples48k, SILENCE_FRAMES } from '../../media/opus-packet.js';
import { tsDiff, unwrapSeq } from '../../media/rtp.js';

/** One 20 ms frame, samples. */
const FRAME = 960;
/** Samples per millisecond on Opus' 48 kHz timeline. */
export const SAMPLES_PER_MS = 48;
/** The finest silence frame (2.5 ms): positions are multiples of it. */
const QUANTUM = 120;
/** Packets (a second of 20 ms frames) whose least delay shows where the stream sits against the wall clock. */
const LAG_WINDOW = 50;


export interface TimelinePacket {
  ssrc: number;
  sequenceNumber: number;
  timestamp: number;
  /** The Opus packet (RTP payload). Kept, not copied, until released. */
  payload: Uint8Array;
  /** Arrival time, ms, on the clock `startMs` is on. */
  arrivalMs: number;
}

export interface TimelineFrame {
  data: Uint8Array;
  /** Position after this frame: 48 kHz samples from the session start. */
  end: number;
  /** Not the sender's audio: a silence frame, or a lost-packet marker. */
  silence: boolean;
}

export interface TimelineOptions {
  /** Session start, ms, on the arrival clock. */
  startMs: number;
  /** How long an out-of-order packet waits for the ones before it, ms. Default 80. */
  reorderWindowMs?: number;
  /** How long the first packets are held to find the least delayed one, ms. Default 400. */
  startupWindowMs?: number;
  /** Packets held at most; more releases the oldest. Default 100. */
  maxBuffered?: number;
  /** advance() pads silence up to this far behind now, ms. Default 1000. */
  maxLagMs?: number;
  /** RTP time off the wall clock by more than this re-anchors, ms. Default 5000. */
  resyncMs?: number;
  /** This many packets in a row landing behind the written position re-anchor. Default 25 (0.5 s). */
  lateRunResync?: number;
  /**
   * A packet arriving this much before its place moves the stream earlier at the next gap, and
   * a second of packets all arriving this much after theirs moves it later, ms. Default 8:
   * files of senders whose clocks drift each way stay within 2x that of each other.
   */
  earlyMs?: number;
}

export interface TimelineStats {
  /** Distinct packets that arrived. */
  received: number;
  /** Expected (by sequence number) and never arrived. */
  lost: number;
  /** Arrived after their place was written (replaced by silence). */
  late: number;
  duplicates: number;
  /** Payloads that are not Opus packets. */
  malformed: number;
  /** Times the stream was re-anchored to the wall clock. */
  resyncs: number;
}

interface Held {
  ext: number;
  extTs: number;
  payload: Uint8Array;
  arrivalMs: number;
}

export type FrameSink = (frame: TimelineFrame) => void;

export class TrackTimeline {
  readonly stats: TimelineStats = { received: 0, lost: 0, late: 0, duplicates: 0, malformed: 0, resyncs: 0 };
  /** End of what was written: 48 kHz samples from the session start. */
  position = 0;
  /** Position of the first audio packet (after the leading silence); undefined before. */
  firstAudioAt: number | undefined;

  private readonly o: Required<TimelineOptions>;
  private readonly held: Held[] = [];
  private ssrc: number | undefined;
  private highestExt = 0;
  private lastTs = 0;
  private lastExtTs = 0;
  /** The extended sequence number expected next; undefined until the first release of a stream. */
  private nextExt: number | undefined;
  private anchorPos: number | undefined;
  private anchorExtTs = 0;
  private lateRun = 0;
  /** Samples the anchor is known to be late by, still to take out of a gap. */
  private early = 0;
  /** The least (arrival - place) of the packets of the window being filled, samples, and their count. */
  private minLag = Infinity;
  private lagPackets = 0;
  /** The least (arrival - place) of the last full window: how far behind the wall clock the stream sits now. */
  private recentLag = -Infinity;
  /** Sequence numbers skipped as lost, so a late arrival is told from a duplicate (insertion-ordered, bounded). */
  private readonly missing = new Set<number>();

  constructor(private readonly sink: FrameSink, options: TimelineOptions) {
    this.o = {
      reorderWindowMs: 80, startupWindowMs: 400, maxBuffered: 100, maxLagMs: 1000, resyncMs: 5000, lateRunResync: 25, earlyMs: 8,
      ...options,
    };
  }

  /** Packets waiting in the reordering buffer. */
  get buffered(): number {
    return this.held.length;
  }

  push(p: TimelinePacket): void {
    if (this.ssrc !== p.ssrc) {
      if (this.ssrc !== undefined) this.newStream();
      this.ssrc = p.ssrc;
      this.highestExt = p.sequenceNumber + 0x10000; // room below for packets reordered before the first
      this.lastTs = p.timestamp;
      this.lastExtTs = p.timestamp;
    }
    const ext = unwrapSeq(p.sequenceNumber, this.highestExt);
    if (this.nextExt !== undefined && ext < this.nextExt) {
      if (this.missing.delete(ext)) { this.stats.late++; this.stats.lost--; } else this.stats.duplicates++;
      return;
    }
    // Insertion from the back: packets nearly always come in order.
    let i = this.held.length;
    while (i > 0 && this.held[i - 1]!.ext > ext) i--;
    if (i > 0 && this.held[i - 1]!.ext === ext) {
      this.stats.duplicates++;
      return;
    }
    this.stats.received++;
    const extTs = this.lastExtTs + tsDiff(p.timestamp, this.lastTs);
    this.lastTs = p.timestamp;
    this.lastExtTs = extTs;
    if (ext > this.highestExt) this.highestExt = ext;
    this.held.splice(i, 0, { ext, extTs, payload: p.payload, arrivalMs: p.arrivalMs });
    this.release(p.arrivalMs, false);
  }

  /** Releases packets whose wait is over and pads silence while nothing arrives. Call every few hundred ms. */
  advance(nowMs: number): void {
    this.release(nowMs, false);
    if (this.anchorPos === undefined || this.held.length > 0) return;
    this.padTo(this.toPosition(nowMs - this.o.maxLagMs));
  }

  /** Releases everything held (end of the track), then pads silence up to `untilMs` if given. */
  drain(untilMs?: number): void {
    this.release(0, true);
    if (untilMs !== undefined && this.anchorPos !== undefined) this.padTo(this.toPosition(untilMs));
  }

  private newStream(): void {
    this.drain();
    this.nextExt = undefined;
    this.anchorPos = undefined;
    this.early = 0;
    this.resetLag();
    this.missing.clear();
  }

  private toPosition(ms: number): number {
    return Math.floor(((ms - this.o.startMs) * SAMPLES_PER_MS) / QUANTUM) * QUANTUM;
  }

  private release(nowMs: number, all: boolean): void {
    const held = this.held;
    while (held.length > 0) {
      const head = held[0]!;
      if (!all && held.length < this.o.maxBuffered) {
        const wait = this.nextExt === undefined ? this.o.startupWindowMs : head.ext === this.nextExt ? 0 : this.o.reorderWindowMs;
        if (nowMs - head.arrivalMs < wait) break;
      }
      if (this.anchorPos === undefined) this.anchor();
      held.shift();
      this.emit(head);
    }
  }

  /** Anchors the stream at the least delayed held packet, never before what is written. */
  private anchor(): void {
    const head = this.held[0]!;
    let best = Infinity;
    for (const h of this.held) best = Math.min(best, h.arrivalMs - (h.extTs - head.extTs) / SAMPLES_PER_MS);
    this.anchorPos = Math.max(this.position, this.toPosition(best));
    this.anchorExtTs = head.extTs;
  }

  private emit(h: Held): void {
    const lost = this.nextExt !== undefined && h.ext > this.nextExt ? h.ext - this.nextExt : 0;
    if (lost > 0) {
      this.stats.lost += lost;
      for (let e = Math.max(h.ext - lost, h.ext - 1000); e < h.ext; e++) this.missing.add(e);
      for (const e of this.missing) {
        if (this.missing.size <= 1000) break;
        this.missing.delete(e);
      }
    }
    this.nextExt = h.ext + 1;
    let samples: number;
    try {
      samples = opusPacketSamples48k(h.payload);
    } catch {
      this.stats.malformed++;
      return;
    }
    let pos = this.anchorPos! + (h.extTs - this.anchorExtTs);
    const wall = this.toPosition(h.arrivalMs);
    const resync = this.o.resyncMs * SAMPLES_PER_MS;
    if (pos - wall > resync || pos < this.position - resync) pos = this.reanchor(h, wall);
    // Up to half a 20 ms frame behind is rounding: write it on; further behind is late.
    if (pos < this.position - 480) {
      if (++this.lateRun < this.o.lateRunResync) {
        this.stats.late++;
        return;
      }
      pos = this.reanchor(h, this.position);
    }
    this.lateRun = 0;
    // Arrived before its place: the anchor is late by at least that much; take it out of the
    // next gap (this one, if there is one).
    if (pos - wall > this.o.earlyMs * SAMPLES_PER_MS) this.early = Math.max(this.early, Math.floor((pos - wall) / QUANTUM) * QUANTUM);
    if (this.early > 0 && pos > this.position) {
      const shift = Math.min(this.early, Math.floor((pos - this.position) / QUANTUM) * QUANTUM);
      this.anchorPos! -= shift;
      this.early -= shift;
      pos -= shift;
      this.resetLag();
    }
    // Even the least delayed packet of the last second landed after its place: a slow sender
    // clock has drawn the stream early of the wall clock; put the difference into this gap.
    if (pos > this.position && this.recentLag > this.o.earlyMs * SAMPLES_PER_MS) {
      const shift = Math.floor(this.recentLag / QUANTUM) * QUANTUM;
      this.anchorPos! += shift;
      pos += shift;
      this.resetLag();
    }
    this.minLag = Math.min(this.minLag, wall - pos);
    if (++this.lagPackets >= LAG_WINDOW) {
      this.recentLag = this.minLag;
      this.minLag = Infinity;
      this.lagPackets = 0;
    }
    this.padTo(pos - FRAME * this.lossMarkers(lost, pos));
    while (this.position + FRAME <= pos) {
      this.position += FRAME;
      this.sink({ data: opusLossMarker(h.payload[0]!), end: this.position, silence: true });
    }
    this.padTo(pos);
    this.firstAudioAt ??= this.position;
    this.position += samples;
    this.sink({ data: h.payload, end: this.position, silence: false });
  }

  /**
   * How many 20 ms slots right before `pos` stand for the `lost` packets: none when the gap
   * is longer than they were (a pause there too: where in it they were is unknown, and the
   * packet's FEC is for the frame just before it, which may be that pause).
   */
  private lossMarkers(lost: number, pos: number): number {
    const gap = pos - this.position;
    if (lost === 0 || gap > lost * FRAME + QUANTUM) return 0;
    return Math.min(lost, CONCEAL_FRAMES, Math.floor(gap / FRAME));
  }

  private resetLag(): void {
    this.minLag = Infinity;
    this.lagPackets = 0;
    this.recentLag = -Infinity;
  }

  private reanchor(h: Held, at: number): number {
    this.stats.resyncs++;
    this.lateRun = 0;
    this.early = 0;
    this.resetLag();
    this.anchorPos = Math.max(this.position, at);
    this.anchorExtTs = h.extTs;
    return this.anchorPos;
  }

  /** Silence frames from the written position up to `target` (rounded down to 2.5 ms). */
  private padTo(target: number): void {
    while (target - this.position >= QUANTUM) {
      const gap = target - this.position;
      const [samples, frame] = SILENCE_FRAMES.find(([n]) => n <= gap)!;
      this.position += samples;
      this.sink({ data: frame, end: this.position, silence: true });
    }
  }
}
