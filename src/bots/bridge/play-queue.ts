/**
 * What a voice agent asked the bridge to say, waiting to be played into the room: 48 kHz
 * mono audio cut into 20 ms frames, with the agent's marks between them, as Twilio keeps an
 * app's audio. Agents send speech faster than real time (a whole synthesized sentence at
 * once), so the queue holds up to `maxQueuedMs` (the oldest dropped past it) and the bridge's
 * sender takes one frame per 20 ms tick.
 *
 * Marks (Twilio's `mark`): one is answered when every frame queued before it has been taken
 * for playing (`cleared: false`); `clear` drops every frame and answers the marks still
 * waiting at once, in order, with `cleared: true`. A mark dropped by overflow is answered
 * as cleared too: its audio was never played. Pure: the caller ticks it.
 */
import type { PcmFrameSource } from '../../media/frames.js';

const FRAME = 960;

type Entry = { frame: Int16Array } | { mark: string };

export interface PlayQueueOptions {
  /** Audio held at most, ms; past it the oldest is dropped. */
  maxQueuedMs: number;
  /** Told of each mark answered: played (all audio before it taken) or cleared (dropped). */
  onMark: (name: string, cleared: boolean) => void;
}

export class PlayQueue implements PcmFrameSource {
  readonly ended = false;
  private entries: Entry[] = [];
  private head = 0;
  private frames = 0;
  /** The 20 ms frame being filled by the agent's audio, whatever its chunk sizes. */
  private partial = new Int16Array(FRAME);
  private fill = 0;
  private readonly maxFrames: number;
  /** Audio dropped by overflow or `clear`, ms. */
  droppedMs = 0;

  constructor(private readonly options: PlayQueueOptions) {
    this.maxFrames = Math.max(1, Math.floor(options.maxQueuedMs / 20));
  }

  /** Audio waiting, ms (whole frames plus the one being filled). */
  get queuedMs(): number {
    return this.frames * 20 + (this.fill * 20) / FRAME;
  }

  /** Agent audio at 48 kHz, any length. */
  push(samples: Int16Array): void {
    let read = 0;
    while (read < samples.length) {
      const n = Math.min(samples.length - read, FRAME - this.fill);
      this.partial.set(samples.subarray(read, read + n), this.fill);
      this.fill += n;
      read += n;
      if (this.fill === FRAME) this.flushPartial();
    }
  }

  /** A mark after everything queued so far: the last partial frame is padded out with silence so it plays too. */
  mark(name: string): void {
    if (this.fill > 0) {
      this.partial.fill(0, this.fill);
      this.flushPartial();
    }
    if (this.frames === 0) {
      // Nothing before it waits: it has been played already (as Twilio answers such a mark at once).
      this.settleHeadMarks();
      this.options.onMark(name, false);
      return;
    }
    this.entries.push({ mark: name });
  }

  /** Drops every frame waiting; marks still waiting are answered now, cleared. */
  clear(): void {
    const waiting = this.entries.slice(this.head);
    this.droppedMs += this.queuedMs;
    this.entries = [];
    this.head = 0;
    this.frames = 0;
    this.fill = 0;
    for (const e of waiting) if ('mark' in e) this.options.onMark(e.mark, true);
  }

  /** The frame to play this tick (undefined: nothing to say); marks whose audio is now all taken are answered. */
  nextFrame(): Int16Array | undefined {
    this.settleHeadMarks();
    const e = this.entries[this.head];
    if (!e || 'mark' in e) return undefined;
    this.advance();
    this.frames--;
    this.settleHeadMarks();
    return e.frame;
  }

  private flushPartial(): void {
    this.entries.push({ frame: this.partial });
    this.partial = new Int16Array(FRAME);
    this.fill = 0;
    this.frames++;
    while (this.frames > this.maxFrames) this.dropOldestFrame();
  }

  /** Overflow: the oldest frame goes, and any mark before it with it (cleared: its audio is lost). */
  private dropOldestFrame(): void {
    for (;;) {
      const e = this.entries[this.head]!;
      this.advance();
      if ('mark' in e) {
        this.options.onMark(e.mark, true);
        continue;
      }
      this.frames--;
      this.droppedMs += 20;
      return;
    }
  }

  /** Marks at the head have nothing before them left to play: answered as played. */
  private settleHeadMarks(): void {
    for (let e = this.entries[this.head]; e && 'mark' in e; e = this.entries[this.head]) {
      this.advance();
      this.options.onMark(e.mark, false);
    }
  }

  private advance(): void {
    this.entries[this.head++] = undefined as unknown as Entry;
    if (this.head >= 1024 && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
