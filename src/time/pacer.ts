/**
 * A media clock: ticks every `intervalMs` (20 ms for Opus frames) scheduled from the start
 * time (`start + n * interval`), so timer lateness never accumulates into drift the way a bare
 * setInterval does. After a stall (a blocked event loop, a suspended VM) it catches up with a
 * short burst of at most `maxBurst` ticks and skips the rest; the tick index keeps counting
 * skipped frames, so a sender derives its RTP timestamp from it and the receiver sees the
 * real time gap.
 */
import { systemClock, type Clock } from './clock.js';

export interface PacerOptions {
  /** Tick period in ms (default 20). */
  intervalMs?: number;
  /** Most ticks delivered back to back when late (default 3, i.e. 60 ms of audio). */
  maxBurst?: number;
  clock?: Clock;
}

/**
 * Called once per tick. `index` counts periods since start (0, 1, 2... including skipped
 * ones); `skipped` is how many periods were dropped just before this one (0 normally).
 */
export type TickHandler = (index: number, skipped: number) => void;

export class Pacer {
  readonly intervalMs: number;
  private readonly maxBurst: number;
  private readonly clock: Clock;
  private startTime = 0;
  private next = 0;
  private timer: unknown;
  private active = false;
  /** Total periods skipped after stalls since start. */
  skippedTotal = 0;

  constructor(private readonly onTick: TickHandler, options: PacerOptions = {}) {
    this.intervalMs = options.intervalMs ?? 20;
    this.maxBurst = options.maxBurst ?? 3;
    this.clock = options.clock ?? systemClock;
    if (!(this.intervalMs > 0)) throw new TypeError('intervalMs must be > 0');
    if (!(Number.isInteger(this.maxBurst) && this.maxBurst >= 1)) throw new TypeError('maxBurst must be an integer >= 1');
  }

  get running(): boolean {
    return this.active;
  }

  /** Starts ticking; the first tick (index 0) fires at once. No-op when running. */
  start(): void {
    if (this.active) return;
    this.active = true;
    this.startTime = this.clock.now();
    this.next = 0;
    this.skippedTotal = 0;
    this.run();
  }

  stop(): void {
    if (!this.active) return;
    this.active = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private due(index: number): number {
    return this.startTime + index * this.intervalMs;
  }

  private run(): void {
    this.timer = undefined;
    const now = this.clock.now();
    // Periods fully elapsed beyond what one burst may deliver are dropped.
    const behind = Math.floor((now - this.due(this.next)) / this.intervalMs) + 1;
    let skipped = 0;
    if (behind > this.maxBurst) {
      skipped = behind - this.maxBurst;
      this.next += skipped;
      this.skippedTotal += skipped;
    }
    while (this.active && this.due(this.next) <= now) {
      const index = this.next++;
      try {
        this.onTick(index, skipped);
      } catch (err) {
        this.stop(); // a broken source must not keep ticking into the same error
        throw err;
      }
      skipped = 0;
    }
    if (!this.active) return;
    this.timer = this.clock.setTimeout(() => this.run(), Math.max(0, this.due(this.next) - this.clock.now()));
  }
}
