/**
 * A jitter buffer for one source of audio RTP packets of 20 ms each (Opus as browsers and the
 * gateway send it), in front of a mixer that pulls one slot per 20 ms tick. Packets are held
 * by sequence number (modulo 2^16), so reordered ones play in order; duplicates and packets
 * whose slot has already been played are dropped and counted. At each pull it says what the
 * slot holds:
 *
 *   packet    the slot's payload, to decode
 *   lost      the slot's packet is missing but later ones are here: conceal it, with the next
 *             packet's in-band FEC when `next` is given and the decoder can use it, else PLC
 *   underrun  playing, but nothing is buffered: conceal a frame and wait (the play point does
 *             not move, so a late packet still plays, 20 ms later)
 *   idle      not playing: before the first cushion, or after running dry for too long
 *
 * Depth: playing starts once `target` frames are buffered (40 ms by default). Each packet
 * that came too late for the cushion (after its slot was given up, or after an underrun that
 * waited for it) grows the target by one frame, up to `maxDepth`; after `calmPulls` pulls
 * without one it shrinks by one, down to `minDepth`. Losses do not grow it: a gap followed by
 * later packets is loss, not jitter. When the buffer has held more than the
 * target for a whole `trimPulls` window, one frame is dropped to bring latency back; a packet
 * more than `maxDepth` frames ahead of the play point moves the play point up (a sender
 * running fast, or a jump). Pure and clock-free: each pull is one 20 ms tick, so the caller's
 * pacer is the clock, and tests drive it by calling pull().
 */
import { seqDiff } from './rtp.js';

export interface RtpJitterBufferOptions {
  /** Smallest cushion, frames of 20 ms; also the cushion playing starts with. Default 2 (40 ms). */
  minDepth?: number;
  /** Largest cushion, frames; older slots are skipped past it. Default 5 (100 ms). */
  maxDepth?: number;
  /** Pulls with no late packet before the target shrinks by a frame. Default 500 (10 s). */
  calmPulls?: number;
  /** Pulls the buffer must stay above its target before a frame is dropped to cut latency. Default 50 (1 s). */
  trimPulls?: number;
  /** Pulls that find the buffer dry and answer `underrun` before it answers `idle` and waits for a cushion again. Default 5 (100 ms). */
  maxUnderrunPulls?: number;
}

export type JitterPull =
  | { kind: 'packet'; seq: number; payload: Uint8Array }
  | { kind: 'lost'; seq: number; next: Uint8Array | undefined }
  | { kind: 'underrun' }
  | { kind: 'idle' };

/** Running counts, since the buffer was made. */
export interface JitterStats {
  /** Packets pushed. */
  received: number;
  /** Packets handed out to play. */
  played: number;
  /** Slots whose packet never came in time (told `lost`, or skipped when the play point moved on). */
  lost: number;
  /** Packets that came after their slot was played or given up. */
  late: number;
  /** Packets already buffered or played (the last 256 slots are remembered). */
  duplicate: number;
  /** Pulls answered `lost` or `underrun`: frames the consumer had to make up. */
  concealed: number;
  /** Times the buffer ran dry while playing. */
  underruns: number;
  /** Packets dropped unplayed to keep latency bounded (trim, overflow). */
  dropped: number;
}

/** Slots remembered behind the play point, to tell a duplicate from a late packet. */
const HISTORY = 256;
/** A packet this far from the play point (either way, 20 s) starts a new stream. */
const NEW_STREAM_DISTANCE = 1000;
/** Late packets in a row that mean the stream went back in sequence space (a restart). */
const NEW_STREAM_LATE_RUN = 10;

const IDLE: JitterPull = Object.freeze({ kind: 'idle' });
const UNDERRUN: JitterPull = Object.freeze({ kind: 'underrun' });

export class RtpJitterBuffer {
  readonly minDepth: number;
  readonly maxDepth: number;
  private readonly calmPulls: number;
  private readonly trimPulls: number;
  private readonly maxUnderrunPulls: number;
  readonly stats: JitterStats = { received: 0, played: 0, lost: 0, late: 0, duplicate: 0, concealed: 0, underruns: 0, dropped: 0 };
  private readonly slots = new Map<number, Uint8Array>();
  /** Seq played last at each `seq % HISTORY`, -1 for none. */
  private readonly history = new Int32Array(HISTORY).fill(-1);
  /** Seq of the next slot to play; undefined before the first start (or after a new stream). */
  private next: number | undefined;
  private playing = false;
  private targetDepth: number;
  private dry = 0;
  private calm = 0;
  private lateRun = 0;
  private windowPulls = 0;
  private windowMin = Infinity;

  constructor(options: RtpJitterBufferOptions = {}) {
    this.minDepth = options.minDepth ?? 2;
    this.maxDepth = options.maxDepth ?? 5;
    if (!(Number.isInteger(this.minDepth) && this.minDepth >= 1 && Number.isInteger(this.maxDepth) && this.maxDepth >= this.minDepth && this.maxDepth < HISTORY)) {
      throw new TypeError(`jitter buffer depths must be integers with 1 <= minDepth <= maxDepth < ${HISTORY}, got ${this.minDepth}..${this.maxDepth}`);
    }
    this.calmPulls = options.calmPulls ?? 500;
    this.trimPulls = options.trimPulls ?? 50;
    this.maxUnderrunPulls = options.maxUnderrunPulls ?? 5;
    this.targetDepth = this.minDepth;
  }

  /** The cushion it aims for now, frames. */
  get target(): number {
    return this.targetDepth;
  }

  /** Frames from the play point to the newest packet buffered (holes included); 0 when empty. */
  get level(): number {
    if (this.slots.size === 0) return 0;
    const base = this.playing ? this.next! : this.lowest();
    return seqDiff(this.highest(), base) + 1;
  }

  /** One packet as it arrives. The payload is kept as given: hand over bytes nobody reuses. */
  push(seq: number, payload: Uint8Array): void {
    this.stats.received++;
    seq &= 0xffff;
    if (this.next !== undefined) {
      const d = seqDiff(seq, this.next);
      if (d > NEW_STREAM_DISTANCE || d < -NEW_STREAM_DISTANCE) this.restart();
      else if (d < 0) {
        if (this.history[seq % HISTORY] === seq) {
          this.stats.duplicate++;
          return;
        }
        this.stats.late++;
        this.trouble();
        if (++this.lateRun < NEW_STREAM_LATE_RUN) return;
        this.restart(); // late again and again: the stream went back in sequence space
      }
    }
    if (this.slots.has(seq)) {
      this.stats.duplicate++;
      return;
    }
    this.lateRun = 0;
    this.slots.set(seq, payload);
    if (this.playing) {
      // Too far ahead: the play point moves up, skipping what it would have played.
      while (seqDiff(seq, this.next!) + 1 > this.maxDepth) this.skip();
    } else {
      while (seqDiff(this.highest(), this.lowest()) + 1 > this.maxDepth) {
        const lowest = this.lowest();
        this.slots.delete(lowest);
        this.stats.dropped++;
        if (this.next !== undefined) {
          // The slots before it never came (lost); it is dropped, so neither lost nor playable later.
          this.stats.lost += Math.max(0, seqDiff(lowest, this.next));
          this.next = (lowest + 1) & 0xffff;
        }
      }
    }
  }

  /** What to play for this 20 ms tick. */
  pull(): JitterPull {
    if (!this.playing && !this.start()) return IDLE;
    this.trim();
    if (++this.calm >= this.calmPulls) {
      this.calm = 0;
      if (this.targetDepth > this.minDepth) this.targetDepth--;
    }
    const seq = this.next!;
    const payload = this.slots.get(seq);
    if (payload) {
      // After an underrun, the packet waited for came: it was late, the cushion too small.
      if (this.dry > 0) this.trouble();
      this.slots.delete(seq);
      this.history[seq % HISTORY] = seq;
      this.next = (seq + 1) & 0xffff;
      this.dry = 0;
      this.stats.played++;
      return { kind: 'packet', seq, payload };
    }
    if (this.slots.size > 0) {
      // (After an underrun too: that one was a loss, not lateness, and says nothing of depth.)
      this.next = (seq + 1) & 0xffff;
      this.dry = 0;
      this.stats.lost++;
      this.stats.concealed++;
      return { kind: 'lost', seq, next: this.slots.get(this.next) };
    }
    if (this.dry >= this.maxUnderrunPulls) {
      this.playing = false;
      return IDLE;
    }
    if (this.dry === 0) this.stats.underruns++;
    this.dry++;
    this.stats.concealed++;
    return UNDERRUN;
  }

  /** Starts playing from the oldest packet once the cushion is there. */
  private start(): boolean {
    if (this.slots.size === 0) return false;
    const lowest = this.lowest();
    if (seqDiff(this.highest(), lowest) + 1 < this.targetDepth) return false;
    if (this.next !== undefined) this.stats.lost += Math.max(0, seqDiff(lowest, this.next));
    this.next = lowest;
    this.playing = true;
    this.dry = 0;
    this.windowPulls = 0;
    this.windowMin = Infinity;
    return true;
  }

  /** Drops a frame when the buffer has stayed above its target for a whole window. */
  private trim(): void {
    const level = this.level;
    if (level < this.windowMin) this.windowMin = level;
    if (++this.windowPulls < this.trimPulls) return;
    if (this.windowMin > this.targetDepth && this.slots.has(this.next!)) this.skip();
    this.windowPulls = 0;
    this.windowMin = Infinity;
  }

  /** Moves the play point one slot on without playing it. */
  private skip(): void {
    const seq = this.next!;
    if (this.slots.delete(seq)) this.stats.dropped++;
    else this.stats.lost++;
    this.next = (seq + 1) & 0xffff;
  }

  /** A packet came too late for the cushion. */
  private trouble(): void {
    if (this.targetDepth < this.maxDepth) this.targetDepth++;
    this.calm = 0;
  }

  /** A new stream (a jump in sequence numbers): forget the old one and its depth; counts stay. */
  private restart(): void {
    this.targetDepth = this.minDepth;
    this.calm = 0;
    this.slots.clear();
    this.history.fill(-1);
    this.next = undefined;
    this.playing = false;
    this.dry = 0;
    this.lateRun = 0;
  }

  /** Oldest seq buffered (slots hold at most maxDepth + 1 consecutive-ish seqs, so a scan is cheap). */
  private lowest(): number {
    let best: number | undefined;
    for (const seq of this.slots.keys()) if (best === undefined || seqDiff(seq, best) < 0) best = seq;
    return best!;
  }

  private highest(): number {
    let best: number | undefined;
    for (const seq of this.slots.keys()) if (best === undefined || seqDiff(seq, best) > 0) best = seq;
    return best!;
  }
}
