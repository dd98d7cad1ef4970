import type { Clock } from '../../src/time/clock.js';

/** A clock that moves only when told; timers fire in due order as time passes. */
export class ManualClock implements Clock {
  private timers = new Map<number, { at: number; fn: () => void }>();
  private ids = 0;
  constructor(public time = 0) {}
  now(): number { return this.time; }
  setTimeout(fn: () => void, ms: number): unknown { const id = ++this.ids; this.timers.set(id, { at: this.time + ms, fn }); return id; }
  clearTimeout(h: unknown): void { this.timers.delete(h as number); }
  /** Advances to `time + ms`, firing due timers; `late` ms are added to each firing (timer slack). */
  advance(ms: number, late = 0): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at + late <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = Math.max(this.time, due[1].at + late);
      due[1].fn();
    }
    this.time = end;
  }
  /** Jumps time forward without firing anything (a blocked event loop). */
  stall(ms: number): void { this.time += ms; }
}

/** A device clock `skew` off real time (+1e-4: 100 ppm fast), for the pacer and the sender reports. */
export function skewedClock(skew: number): { clock: Clock; wall: () => number } {
  const t0 = performance.now();
  const w0 = Date.now();
  return {
    clock: {
      now: () => t0 + (performance.now() - t0) * (1 + skew),
      setTimeout: (fn, ms) => setTimeout(fn, ms / (1 + skew)),
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    },
    wall: () => w0 + (Date.now() - w0) * (1 + skew),
  };
}
