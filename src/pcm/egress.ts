/**
 * The bounded, real-time send queue in front of one receiver's socket.
 *
 * Audio goes straight to the socket while less than `maxInflightMs` of it sits unflushed in
 * Node's socket buffer (tracked by ws's write callbacks, which run in order). Past that, frames
 * wait here; when more than `maxQueuedMs` waits, the oldest is dropped: a late receiver gets
 * the newest audio, memory stays bounded, and the sender never waits.
 */

/** The part of a `ws` WebSocket the egress uses (a fake in unit tests). */
export interface AudioSink {
  send(data: Buffer, options: { binary: true }, cb: (err?: Error) => void): void;
}

export interface EgressOptions {
  /** Audio handed to the socket but not yet flushed, ms, before frames queue here. Default 100. */
  maxInflightMs?: number;
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
  private readonly maxInflightMs: number;
  private readonly maxQueuedMs: number;
  private readonly onDrop: ((frames: number) => void) | undefined;
  /** Durations of frames handed to the socket, in write order. */
  private readonly inflight = new Fifo<number>();
  private inflightMs = 0;
  private readonly queue = new Fifo<Buffer>();
  private readonly queueMs = new Fifo<number>();
  private queuedMs = 0;
  private closed = false;
  /** Frames dropped by this egress. */
  dropped = 0;

  constructor(private readonly sink: AudioSink, options: EgressOptions = {}) {
    this.maxInflightMs = options.maxInflightMs ?? 100;
    this.maxQueuedMs = options.maxQueuedMs ?? 200;
    this.onDrop = options.onDrop;
  }

  /** Audio waiting here or unflushed in the socket, ms. */
  get pendingMs(): number {
    return this.inflightMs + this.queuedMs;
  }

  /** Sends `frame` (worth `ms` of audio) now, or queues it, dropping the oldest if full. */
  push(frame: Buffer, ms: number): void {
    if (this.closed) return;
    if (this.queue.length === 0 && this.fits(ms)) {
      this.write(frame, ms);
      return;
    }
    this.queue.push(frame);
    this.queueMs.push(ms);
    this.queuedMs += ms;
    let drops = 0;
    // Keep at least the newest frame, even if it alone is longer than the limit.
    while (this.queuedMs > this.maxQueuedMs && this.queue.length > 1) {
      this.queue.shift();
      this.queuedMs -= this.queueMs.shift();
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

  /** A frame longer than the in-flight limit still goes out when nothing else is in flight. */
  private fits(ms: number): boolean {
    return this.inflightMs === 0 || this.inflightMs + ms <= this.maxInflightMs;
  }

  private write(frame: Buffer, ms: number): void {
    this.inflight.push(ms);
    this.inflightMs += ms;
    this.sink.send(frame, SEND_OPTIONS, this.onWritten);
  }

  /** ws calls this once per send, in order, when the frame left Node (or the socket died). */
  private readonly onWritten = (): void => {
    if (this.inflight.length === 0) return;
    this.inflightMs -= this.inflight.shift();
    if (this.inflight.length === 0) this.inflightMs = 0; // no float drift across hours
    while (!this.closed && this.queue.length > 0 && this.fits(this.queueMs.peek())) {
      const ms = this.queueMs.shift();
      this.queuedMs -= ms;
      this.write(this.queue.shift(), ms);
    }
    if (this.queue.length === 0) this.queuedMs = 0;
  };
}
