/**
 * The live view of a running load test. On a terminal: a small table redrawn in place once a
 * second (cursor up, clear to the end). Piped or redirected: one plain line every few
 * seconds, so CI logs stay readable.
 */
import type { ProgressSnapshot } from './runner.js';
import { num, table } from './report.js';

/** The table shown on a terminal. */
export function progressLines(p: ProgressSnapshot): string[] {
  return [
    `loadtest ${p.phase}, ${num(p.t, 0)} s`,
    ...table([
      ['started', 'joined', 'connected', 'tracks', 'pkts/s in', 'kbps in', 'loss %', 'CPU %', 'RSS MB', 'lag ms', 'errors'],
      [`${p.started}/${p.total}`, String(p.joined), String(p.connected), `${p.tracksReceived}/${p.tracksExpected}`, num(p.packetsPerSecond, 0),
        num(p.receivedKbps, 0), num(p.lossPercent, 2), num(p.cpuPercent, 0), num(p.rssMB, 0), num(p.loopLagP99Ms, 1), String(p.errors)],
    ]).map((l) => `  ${l}`),
  ];
}

/** One line for logs. */
export function progressLine(p: ProgressSnapshot): string {
  return `t=${num(p.t, 0)}s ${p.phase} started=${p.started}/${p.total} joined=${p.joined} connected=${p.connected} tracks=${p.tracksReceived}/${p.tracksExpected} `
    + `rx=${num(p.packetsPerSecond, 0)}pkt/s ${num(p.receivedKbps, 0)}kbps loss=${num(p.lossPercent, 2)}% cpu=${num(p.cpuPercent, 0)}% rss=${num(p.rssMB, 0)}MB errors=${p.errors}`;
}

export interface ProgressOutput {
  write(s: string): unknown;
  isTTY?: boolean;
}

export class ProgressView {
  private drawn = 0;
  private lastLineAt = -Infinity;

  /** @param quietEverySeconds seconds between plain lines when not on a terminal (default 5) */
  constructor(private readonly out: ProgressOutput, private readonly quietEverySeconds = 5) {}

  update(p: ProgressSnapshot): void {
    if (this.out.isTTY) {
      const lines = progressLines(p);
      // Move up over the previous drawing and clear it, then draw again.
      this.out.write(`${this.drawn > 0 ? `\x1b[${this.drawn}A\x1b[0J` : ''}${lines.join('\n')}\n`);
      this.drawn = lines.length;
    } else if (p.t - this.lastLineAt >= this.quietEverySeconds) {
      this.lastLineAt = p.t;
      this.out.write(`${progressLine(p)}\n`);
    }
  }

  /** Leaves the last drawing on screen; the final report goes below it. */
  done(): void {
    this.drawn = 0;
  }
}
