import { describe, expect, it } from 'vitest';
import { Egress, type AudioSink } from '../../../src/pcm/egress.js';

/** A socket whose writes complete only when the test says so. */
class FakeSink implements AudioSink {
  readonly written: Buffer[] = [];
  private readonly callbacks: ((err?: Error) => void)[] = [];
  send(data: Buffer, _options: { binary: true }, cb: (err?: Error) => void): void {
    this.written.push(data);
    this.callbacks.push(cb);
  }
  /** Completes the oldest `n` writes. */
  flush(n = this.callbacks.length): void {
    for (let i = 0; i < n; i++) this.callbacks.shift()?.();
  }
}

const frame = (i: number) => Buffer.from([i]);
const ids = (bufs: Buffer[]) => bufs.map((b) => b[0]);

describe('Egress', () => {
  it('writes straight through while the socket keeps up', () => {
    const sink = new FakeSink();
    const e = new Egress(sink, { maxInflightMs: 40, maxQueuedMs: 100 });
    for (let i = 0; i < 50; i++) {
      e.push(frame(i), 20);
      sink.flush();
    }
    expect(sink.written.length).toBe(50);
    expect(e.dropped).toBe(0);
    expect(e.pendingMs).toBe(0);
  });

  it('queues past the in-flight limit and drops the oldest queued audio past the queue limit', () => {
    const sink = new FakeSink();
    let reported = 0;
    const e = new Egress(sink, { maxInflightMs: 40, maxQueuedMs: 100, onDrop: (n) => { reported += n; } });
    for (let i = 0; i < 20; i++) e.push(frame(i), 20);
    // 2 frames in flight, 5 queued (100 ms), 13 dropped
    expect(ids(sink.written)).toEqual([0, 1]);
    expect(e.dropped).toBe(13);
    expect(reported).toBe(13);
    expect(e.pendingMs).toBe(140);
    sink.flush();
    sink.flush();
    sink.flush();
    sink.flush();
    // the newest audio survived, in order
    expect(ids(sink.written)).toEqual([0, 1, 15, 16, 17, 18, 19]);
    sink.flush();
    expect(e.pendingMs).toBe(0);
  });

  it('sends a frame longer than the in-flight limit when nothing else is in flight', () => {
    const sink = new FakeSink();
    const e = new Egress(sink, { maxInflightMs: 40, maxQueuedMs: 100 });
    e.push(frame(1), 500);
    expect(sink.written.length).toBe(1);
    e.push(frame(2), 500);
    e.push(frame(3), 500);
    // the queue keeps its newest frame even when it alone exceeds the limit
    expect(e.dropped).toBe(1);
    sink.flush(1);
    expect(ids(sink.written)).toEqual([1, 3]);
  });

  it('ignores pushes after close and forgets the queue', () => {
    const sink = new FakeSink();
    const e = new Egress(sink, { maxInflightMs: 20, maxQueuedMs: 100 });
    e.push(frame(1), 20);
    e.push(frame(2), 20);
    e.close();
    e.push(frame(3), 20);
    sink.flush();
    expect(ids(sink.written)).toEqual([1]);
  });
});
