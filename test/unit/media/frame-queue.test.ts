import { describe, expect, it } from 'vitest';
import { FrameQueue } from '../../../src/media/frame-queue.js';

const f = (v: number) => new Int16Array([v]);
const takeAll = (q: FrameQueue, n: number) => Array.from({ length: n }, () => q.take()?.[0]);

describe('FrameQueue', () => {
  it('plays once the cushion is there, in order, and waits for it again after running dry', () => {
    const q = new FrameQueue({ prebuffer: 2, max: 4 });
    q.push(f(1));
    expect(q.take()).toBeUndefined();
    q.push(f(2));
    expect(takeAll(q, 3)).toEqual([1, 2, undefined]);
    expect(q.underruns).toBe(1);
    q.push(f(3));
    expect(q.take()).toBeUndefined(); // one frame is not a cushion
    q.push(f(4));
    expect(takeAll(q, 2)).toEqual([3, 4]);
  });

  it('drops the oldest past max, so a fast producer cannot build latency', () => {
    const q = new FrameQueue({ prebuffer: 1, max: 3 });
    for (let i = 1; i <= 5; i++) q.push(f(i));
    expect(q.dropped).toBe(2);
    expect(takeAll(q, 3)).toEqual([3, 4, 5]);
  });

  it('clear forgets what waits without counting an underrun, and waits for the cushion again', () => {
    const q = new FrameQueue({ prebuffer: 2, max: 4 });
    for (let i = 1; i <= 3; i++) q.push(f(i));
    expect(q.take()?.[0]).toBe(1);
    q.clear();
    expect(q.length).toBe(0);
    expect(q.take()).toBeUndefined();
    expect(q.underruns).toBe(0);
    q.push(f(9));
    expect(q.take()).toBeUndefined();
    q.push(f(10));
    expect(takeAll(q, 2)).toEqual([9, 10]);
  });
});
