import { describe, expect, it } from 'vitest';
import { Pacer } from '../../../src/time/pacer.js';
import { ManualClock } from '../../helpers/clock.js';

function record(clock: ManualClock, maxBurst?: number) {
  const ticks: { index: number; skipped: number; at: number }[] = [];
  const pacer = new Pacer((index, skipped) => ticks.push({ index, skipped, at: clock.now() }), { clock, ...(maxBurst ? { maxBurst } : {}) });
  return { ticks, pacer };
}

describe('Pacer', () => {
  it('ticks every 20 ms from the start time without drifting when each timer fires 3 ms late', () => {
    const clock = new ManualClock(1000);
    const { ticks, pacer } = record(clock);
    pacer.start();
    clock.advance(1000, 3);
    pacer.stop();
    // 0..50 inclusive at t0+1000: with 3 ms slack the last one (t0+1000) has not fired yet.
    expect(ticks.map((t) => t.index)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // Each tick fires 3 ms after its slot, never later: the error does not accumulate.
    for (const t of ticks.slice(1)) expect(t.at - (1000 + t.index * 20)).toBe(3);
    expect(ticks.every((t) => t.skipped === 0)).toBe(true);
  });

  it('catches up a short stall with a burst', () => {
    const clock = new ManualClock(1000);
    const { ticks, pacer } = record(clock);
    pacer.start();
    clock.advance(20); // ticks 0, 1
    clock.stall(45); // now t0+65: ticks 2 (40) and 3 (60) are due
    clock.advance(0);
    expect(ticks.map((t) => [t.index, t.skipped])).toEqual([[0, 0], [1, 0], [2, 0], [3, 0]]);
    expect(pacer.skippedTotal).toBe(0);
  });

  it('skips what a burst cannot cover after a long stall and reports it', () => {
    const clock = new ManualClock(1000);
    const { ticks, pacer } = record(clock);
    pacer.start(); // tick 0 at t0
    clock.stall(205); // ticks 1..10 due (20..200); burst of 3 delivers 8, 9, 10
    clock.advance(0);
    expect(ticks.map((t) => [t.index, t.skipped])).toEqual([[0, 0], [8, 7], [9, 0], [10, 0]]);
    expect(pacer.skippedTotal).toBe(7);
    clock.advance(15); // t0+220: tick 11
    expect(ticks.at(-1)).toMatchObject({ index: 11, skipped: 0 });
  });

  it('stop cancels the timer and start begins a new timeline at index 0', () => {
    const clock = new ManualClock(1000);
    const { ticks, pacer } = record(clock);
    pacer.start();
    clock.advance(40);
    pacer.stop();
    expect(pacer.running).toBe(false);
    clock.advance(100);
    expect(ticks).toHaveLength(3);
    pacer.start();
    expect(ticks.at(-1)).toMatchObject({ index: 0 });
    pacer.stop();
  });

  it('a throwing tick handler stops the pacer', () => {
    const clock = new ManualClock(1000);
    const pacer = new Pacer(() => { throw new Error('boom'); }, { clock });
    expect(() => pacer.start()).toThrow();
    expect(pacer.running).toBe(false);
  });

  it('refuses bad options with TypeError', () => {
    expect(() => new Pacer(() => {}, { intervalMs: 0 })).toThrow(TypeError);
    expect(() => new Pacer(() => {}, { maxBurst: 0 })).toThrow(TypeError);
  });
});
