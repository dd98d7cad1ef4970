import { describe, expect, it } from 'vitest';
import { Egress, type AudioSink } from '../../../src/pcm/egress.js';

/** A socket whose writes stay in its buffer until the test flushes them. */
class FakeSink implements AudioSink {
  readonly written: Buffer[] = [];
  private readonly pending: { bytes: number; cb: (err?: Error) => void }[] = [];
  bufferedAmount = 0;
  /** When true, writes complete at once (the kernel took them), as on a healthy socket. */
  healthy = false;

  send(data: Buffer, _options: { binary: true }, cb: (err?: Error) => void): void {
    this.written.push(data);
    if (this.healthy) {
      queueMicrotask(() => cb());
      return;
    }
    this.bufferedAmount += data.length;
    this.pending.push({ bytes: data.length, cb });
  }

  /** Completes the oldest `n` writes. */
  flush(n = this.pending.length): void {
    for (let i = 0; i < n; i++) {
      const w = this.pending.shift();
      if (!w) return;
      this.bufferedAmount -= w.bytes;
      w.cb();
    }
  }
}

/** A 100-byte frame tagged with `i` in its first byte. */
const frame = (i: number) => Buffer.alloc(100, i);
const ids = (bufs: Buffer[]) => bufs.map((b) => b[0]);

describe('Egress', () => {
  it('lets a burst through untouched while the socket takes every write at once', async () => {
    const sink = new FakeSink();
    sink.healthy = true;
    const e = new Egress(sink, { maxBufferedBytes: 150, maxQueuedMs: 100 });
    for (let i = 0; i < 50; i++) e.push(frame(i), 20);
    await Promise.resolve();
    expect(sink.written.length).toBe(50);
    expect(e.dropped).toBe(0);
  });

  it('queues once the socket buffer is full and drops the oldest queued audio past the queue limit', () => {
    const sink = new FakeSink();
    let reported = 0;
    const e = new Egress(sink, { maxBufferedBytes: 150, maxQueuedMs: 100, onDrop: (n) => { reported += n; } });
    for (let i = 0; i < 20; i++) e.push(frame(i), 20);
    // 2 frames in the socket buffer (200 bytes >= 150), 5 queued (100 ms), 13 dropped
    expect(ids(sink.written)).toEqual([0, 1]);
    expect(e.dropped).toBe(13);
    expect(reported).toBe(13);
    expect(e.queuedAudioMs).toBe(100);
    for (let i = 0; i < 5; i++) sink.flush(1);
    // the newest audio survived, in order
    expect(ids(sink.written)).toEqual([0, 1, 15, 16, 17, 18, 19]);
    expect(e.queuedAudioMs).toBe(0);
  });

  it('sends again when nothing of its own is pending, whatever the buffer holds', () => {
    const sink = new FakeSink();
    const e = new Egress(sink, { maxBufferedBytes: 50, maxQueuedMs: 100 });
    sink.bufferedAmount = 10_000; // e.g. a large control message still unflushed
    e.push(frame(1), 20);
    expect(ids(sink.written)).toEqual([1]);
    e.push(frame(2), 20);
    expect(ids(sink.written)).toEqual([1]);
    sink.flush(1);
    expect(ids(sink.written)).toEqual([1, 2]);
  });

  it('keeps the newest frame even if it alone is longer than the queue limit', () => {
    const sink = new FakeSink();
    const e = new Egress(sink, { maxBufferedBytes: 50, maxQueuedMs: 100 });
    e.push(frame(1), 500);
    e.push(frame(2), 500);
    e.push(frame(3), 500);
    expect(e.dropped).toBe(1);
    sink.flush(1);
    expect(ids(sink.written)).toEqual([1, 3]);
  });

  it('ignores pushes after close and forgets the queue', () => {
    const sink = new FakeSink();
    const e = new Egress(sink, { maxBufferedBytes: 50, maxQueuedMs: 100 });
    e.push(frame(1), 20);
    e.push(frame(2), 20);
    e.close();
    e.push(frame(3), 20);
    sink.flush();
    expect(ids(sink.written)).toEqual([1]);
  });
});
