/**
 * A real-time queue of fixed-size audio frames between a producer on its own clock (a
 * network stream, a client's socket) and a consumer ticking every frame (a mixer). It plays
 * only once `prebuffer` frames wait (the cushion that absorbs jitter), drops the oldest past
 * `max` (a producer running fast must not build latency), and after running dry waits for the
 * cushion again. Pure: the caller ticks it.
 */
export interface FrameQueueOptions {
  /** Frames that must wait before playing starts (again). Default 2 (40 ms of 20 ms frames). */
  prebuffer?: number;
  /** Frames held at most; older ones are dropped. Default 6. */
  max?: number;
  /** Told each time a tick finds the queue dry while playing. */
  onUnderrun?: () => void;
}

export class FrameQueue {
  private readonly frames: Int16Array[] = [];
  private readonly prebuffer: number;
  private readonly max: number;
  private playing = false;
  private readonly onUnderrun: (() => void) | undefined;
  /** Frames dropped because the queue was full. */
  dropped = 0;
  /** Ticks that found the queue dry while playing. */
  underruns = 0;

  constructor(options: FrameQueueOptions = {}) {
    this.prebuffer = options.prebuffer ?? 2;
    this.max = Math.max(this.prebuffer, options.max ?? 6);
    this.onUnderrun = options.onUnderrun;
  }

  get length(): number {
    return this.frames.length;
  }

  /** Queues a frame (kept as given: hand over a frame nobody reuses). */
  push(frame: Int16Array): void {
    if (this.frames.length >= this.max) {
      this.frames.shift();
      this.dropped++;
    }
    this.frames.push(frame);
  }

  /** Forgets every frame waiting; playing starts again after the cushion. Not an underrun. */
  clear(): void {
    this.frames.length = 0;
    this.playing = false;
  }

  /** The frame to play this tick, or undefined (still buffering, or a gap). */
  take(): Int16Array | undefined {
    if (!this.playing) {
      if (this.frames.length < this.prebuffer) return undefined;
      this.playing = true;
    }
    const frame = this.frames.shift();
    if (!frame) {
      this.playing = false;
      this.underruns++;
      this.onUnderrun?.();
    }
    return frame;
  }
}
