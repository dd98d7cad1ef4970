/**
 * A 10-minute /duo call whose two ends' audio clocks disagree by 100 ppm each way, simulated
 * sample by sample through the page's own jitter buffer (static/duo/jitter-buffer.js): the
 * sender's 20 ms frames arrive on its clock, the playback worklet pulls 128-sample quanta on
 * the receiver's, with network jitter. Drift must not grow the queue: what the buffer holds
 * stays put from minute to minute (a fast sender's surplus is played out a sample at a time,
 * a slow sender costs an underrun now and then), within its cushion plus slack, and nothing
 * is lost beyond the drift itself.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module of the pages (no types)
import { JitterBuffer } from '../../../static/duo/jitter-buffer.js';

const RATE = 48000;
const FRAME = 960;
const QUANTUM = 128;
const MINUTES = 10;

interface Buffer { push(s: Float32Array): void; pull(out: Float32Array): void; buffered: number; underruns: number; dropped: number; played: number; cushion: number; slack: number }

/** Runs the call; `skew` is the sender's clock against the receiver's (+1e-4: 100 ppm fast). */
function call(skew: number, seed: number): { maxBufferedMs: number; underruns: number; droppedMs: number; lastBufferedMs: number[]; limitMs: number } {
  const jb = new JitterBuffer({ sampleRate: RATE }) as Buffer;
  const frame = new Float32Array(FRAME).fill(0.1);
  const out = new Float32Array(QUANTUM);
  const endMs = MINUTES * 60_000;
  let rnd = seed;
  const jitter = () => ((rnd = (rnd * 1103515245 + 12345) >>> 0) % 30); // 0-29 ms network delay
  // Arrival times of the sender's frames (its clock runs 1+skew times ours), in order.
  const arrivals: number[] = [];
  for (let k = 0, t = 0; t < endMs; k++, t = (k * 20) / (1 + skew)) arrivals.push(t + jitter());
  arrivals.sort((a, b) => a - b);
  let next = 0;
  let maxBuffered = 0;
  const minutes: number[] = [];
  for (let q = 0; (q * QUANTUM * 1000) / RATE < endMs; q++) {
    const now = (q * QUANTUM * 1000) / RATE;
    while (next < arrivals.length && arrivals[next]! <= now) { jb.push(frame); next++; }
    jb.pull(out);
    if (now > 1000) maxBuffered = Math.max(maxBuffered, jb.buffered);
    if (q % Math.round((60_000 * RATE) / 1000 / QUANTUM) === 0) minutes.push((jb.buffered * 1000) / RATE);
  }
  return {
    maxBufferedMs: (maxBuffered * 1000) / RATE,
    underruns: jb.underruns,
    droppedMs: (jb.dropped * 1000) / RATE,
    lastBufferedMs: minutes,
    limitMs: ((jb.cushion + jb.slack) * 1000) / RATE,
  };
}

describe('a 10-minute /duo call with drifting audio clocks', () => {
  it.each([
    ['100 ppm fast', 100e-6],
    ['100 ppm slow', -100e-6],
    ['1,000 ppm fast', 1000e-6],
    ['1,000 ppm slow', -1000e-6],
  ])('sender %s: the queue stays bounded, drift costs a trim or an underrun now and then', (_name, skew) => {
    const r = call(skew, 7);
    console.log(`${_name}: max buffered ${r.maxBufferedMs.toFixed(0)} ms (limit ${r.limitMs.toFixed(0)}), underruns ${r.underruns}, dropped ${r.droppedMs.toFixed(0)} ms; buffered each minute ${r.lastBufferedMs.map((x) => x.toFixed(0)).join(' ')} ms`);
    expect(r.maxBufferedMs).toBeLessThanOrEqual(r.limitMs + 20);
    // The drift itself: 0.1 % of 10 min is 600 ms; a fast sender's surplus is trimmed (and the
    // jitter's), a slow sender's deficit shows as a few underruns, not as growing delay.
    const driftMs = Math.abs(skew) * MINUTES * 60_000;
    if (skew > 0) expect(r.droppedMs).toBeLessThanOrEqual(driftMs + 100);
    else expect(r.underruns).toBeLessThanOrEqual(Math.ceil(driftMs / 20) + 5);
    // No growth from minute to minute: the cushion (50 ms, more after underruns), the network's
    // jitter and at most a 20 ms margin, never the drift piled up (600 ms at 1,000 ppm).
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const m = r.lastBufferedMs;
    expect(Math.max(...m)).toBeLessThanOrEqual(r.limitMs);
    expect(mean(m.slice(-3)) - mean(m.slice(1, 4))).toBeLessThanOrEqual(30);
  });
});
