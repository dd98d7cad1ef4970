import { describe, expect, it } from 'vitest';
import { ReportTimer } from '../../../src/rtc/rtcp-schedule.js';
import { ManualClock } from '../../helpers/clock.js';

describe('ReportTimer', () => {
  it('reports every interval x [0.5, 1.5) (RFC 3550 §6.2), each due time snapped up to the shared 100 ms grid', () => {
    const clock = new ManualClock(1234.5);
    const at: number[] = [];
    const timers = Array.from({ length: 50 }, () => new ReportTimer(() => at.push(clock.now()), 1000, clock));
    clock.advance(20_000);
    for (const t of timers) t.stop();
    expect(at.length).toBeGreaterThan(50 * 12);
    // Every report lands on the grid, so 50 timers share few distinct wakeups...
    for (const t of at) expect(t % 100).toBe(0);
    expect(new Set(at).size).toBeLessThan(200);
    // ...and the randomised spread survives: gaps from 500 ms to 1600 ms, not all alike.
    const one: number[] = [];
    const single = new ReportTimer(() => one.push(clock.now()), 1000, clock);
    clock.advance(60_000);
    single.stop();
    const gaps = one.slice(1).map((t, i) => t - one[i]!);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(500);
      expect(g).toBeLessThanOrEqual(1600);
    }
    expect(new Set(gaps).size).toBeGreaterThan(3);
  });

  it('stops: no report after stop()', () => {
    const clock = new ManualClock();
    let n = 0;
    const t = new ReportTimer(() => { n++; }, 1000, clock);
    clock.advance(5000);
    const seen = n;
    t.stop();
    clock.advance(5000);
    expect(seen).toBeGreaterThan(2);
    expect(n).toBe(seen);
  });
});
