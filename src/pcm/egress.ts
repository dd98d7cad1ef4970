/**
 * The bounded, real-time send queue in front of one receiver's socket.
 *
 * Audio goes straight to the socket while less than `maxBufferedBytes` sits unflushed in
 * Node (`ws.bufferedAmount`: a write the kernel takes at once leaves nothing there, so a burst
 * on a healthy socket passes untouched). Past that, frames wait here; when more than
 * `maxQueuedMs` of audio waits, the oldest is dropped: a late receiver gets the newest audio,
 * memory stays bounded, and the sender never waits. ws's write callbacks (one per frame, in
 * order) are the signal to send what waits.
 */

/** The part of a `ws` WebSocket the egress uses (a fake in unit tests). */
export interface AudioSink {
  readonly bufferedAmount: number;
  send(data: Buffer, options: { binary: true }, cb: (err?: Error) => void): void;
}

export interface EgressOptions {
  /** Bytes unflushed in Node's socket buffer before frames queue here. Default 16384 (85 ms of PCM at 48 kHz). */
  maxBufferedBytes?: number;
  /** Audio queued here, ms, before the oldest is dropped. Default 200. */
  maxQueuedMs?: number;
  /** Called with the number of frames dropped (for the metrics). */
  onDrop?: (frames: number) => void;
}
/** A FIFO of numbers or frames on a growing array with a moving head (no shift() cost). */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T {
    return this.items[this.head] as T;
  }

  shift(): T {
    const item = this.items[this.head] as T;
    this.items[this.head++] = undefined;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

const SEND_OPTIONS = { binary: true } as const;

export class Egress {
  private readonly maxBufferedBytes: number;
  private readonly maxQueuedMs: number;
  private readonly onDrop: ((frames: number) => void) | undefined;
  /** Frames handed to the socket whose write callback has not run yet. */
  private unflushed = 0;
  private readonly queue = new Fifo<Buffer>();
  private readonly queueMs = new Fifo<number>();
  private queuedMs = 0;
  private closed = false;
  /** Frames dropped by this egress, and the audio they held, ms. */
  dropped = 0;
  droppedMs = 0;

  constructor(private readonly sink: AudioSink, options: EgressOptions = {}) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? 16 * 1024;
    this.maxQueuedMs = options.maxQueuedMs ?? 200;
    this.onDrop = options.onDrop;
  }

  /** Audio waiting here (not yet handed to the socket), ms. */
  get queuedAudioMs(): number {
    return this.queuedMs;
  }

  /** Sends `frame` (worth `ms` of audio) now, or queues it, dropping the oldest if full. */
  push(frame: Buffer, ms: number): void {
    if (this.closed) return;
    if (this.queue.length === 0 && this.socketHasRoom()) {
      this.write(frame);
      return;
    }
    this.queue.push(frame);
    this.queueMs.push(ms);
    this.queuedMs += ms;
    let drops = 0;
    // Keep at least the newest frame, even if it alone is longer than the limit.
    while (this.queuedMs > this.maxQueuedMs && this.queue.length > 1) {
      this.queue.shift();
      const ms = this.queueMs.shift();
      this.queuedMs -= ms;
      this.droppedMs += ms;
      drops++;
    }
    if (drops > 0) {
      this.dropped += drops;
      this.onDrop?.(drops);
    }
  }

  /** Forgets everything queued; later pushes are ignored. */
  close(): void {
    this.closed = true;
    this.queue.clear();
    this.queueMs.clear();
    this.queuedMs = 0;
  }

  /** With none of our writes pending, nothing will wake us later: write whatever the buffer says. */
  private socketHasRoom(): boolean {
    return this.unflushed === 0 || this.sink.bufferedAmount < this.maxBufferedBytes;
  }

  private write(frame: Buffer): void {
    this.unflushed++;
    this.sink.send(frame, SEND_OPTIONS, this.onWritten);
  }

  /** ws calls this once per send, in order, when the frame left Node (or the socket died). */
  private readonly onWritten = (): void => {
    this.unflushed--;
    while (!this.closed && this.queue.length > 0 && this.socketHasRoom()) {
      this.queuedMs -= this.queueMs.shift();
      this.write(this.queue.shift());
    }
    if (this.queue.length === 0) this.queuedMs = 0; // no float drift across hours
  };
}
