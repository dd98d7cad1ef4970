import { describe, expect, it } from 'vitest';
import { PlayQueue } from '../../../src/bots/bridge/play-queue.js';

/** `ms` of 48 kHz audio whose samples count up from `start` (so frames can be told apart). */
const audio = (ms: number, start = 1) => Int16Array.from({ length: ms * 48 }, (_, i) => start + i);

function queue(maxQueuedMs = 1000) {
  const marks: string[] = [];
  const q = new PlayQueue({ maxQueuedMs, onMark: (name, cleared) => marks.push(`${name}${cleared ? ' cleared' : ''}`) });
  return { q, marks };
}

describe('PlayQueue', () => {
  it('cuts any chunk sizes into 20 ms frames, in order, and says nothing when empty', () => {
    const { q } = queue();
    const a = audio(50);
    q.push(a.subarray(0, 500));
    q.push(a.subarray(500));
    expect(q.queuedMs).toBe(50);
    const f1 = q.nextFrame()!;
    const f2 = q.nextFrame()!;
    expect([f1.length, f1[0], f1[959], f2[0], f2[959]]).toEqual([960, 1, 960, 961, 1920]);
    // The last 10 ms wait for more audio (or a mark) before they make a frame.
    expect(q.nextFrame()).toBeUndefined();
    expect(q.queuedMs).toBe(10);
  });

  it('answers a mark once the audio before it has been taken, not before', () => {
    const { q, marks } = queue();
    q.push(audio(40));
    q.mark('a');
    q.push(audio(20));
    q.mark('b');
    expect(marks).toEqual([]);
    q.nextFrame();
    expect(marks).toEqual([]);
    q.nextFrame();
    expect(marks).toEqual(['a']);
    q.nextFrame();
    expect(marks).toEqual(['a', 'b']);
    expect(q.nextFrame()).toBeUndefined();
  });

  it('a mark with nothing before it is answered at once; a partial frame before a mark is padded with silence and played', () => {
    const { q, marks } = queue();
    q.mark('now');
    expect(marks).toEqual(['now']);
    q.push(audio(10, 5));
    q.mark('after-10ms');
    const f = q.nextFrame()!;
    expect([f[0], f[479], f[480], f[959]]).toEqual([5, 484, 0, 0]);
    expect(marks).toEqual(['now', 'after-10ms']);
  });

  it('clear drops everything at once and answers the waiting marks, in order, as cleared', () => {
    const { q, marks } = queue();
    q.push(audio(40));
    q.mark('m1');
    q.push(audio(100));
    q.mark('m2');
    q.mark('m3');
    q.push(audio(15));
    q.nextFrame();
    q.nextFrame();
    expect(marks).toEqual(['m1']);
    q.clear();
    expect(marks).toEqual(['m1', 'm2 cleared', 'm3 cleared']);
    expect(q.nextFrame()).toBeUndefined();
    expect(q.queuedMs).toBe(0);
    expect(q.droppedMs).toBe(115);
    // It plays again what comes after.
    q.push(audio(20, 7));
    expect(q.nextFrame()![0]).toBe(7);
  });

  it('holds at most maxQueuedMs: the oldest audio is dropped and counted, marks dropped with it are answered cleared', () => {
    const { q, marks } = queue(100);
    q.push(audio(20, 1));
    q.mark('early');
    q.push(audio(200, 1000));
    expect(q.queuedMs).toBe(100);
    expect(q.droppedMs).toBe(120);
    expect(marks).toEqual(['early cleared']);
    // The newest 100 ms remain: the first frame left starts 100 ms into the 200 ms chunk.
    expect(q.nextFrame()![0]).toBe(1000 + 100 * 48);
  });
});
