/**
 * A 10-minute /duo call whose two ends' audio clocks disagree, simulated sample by sample
 * through the page's own jitter buffer (static/duo/jitter-buffer.js): the sender's 20 ms frames
 * of a 440 Hz tone leave on its clock and arrive in order (a WebSocket) after 0-29 ms of
 * network delay; the playback worklet pulls 128-sample quanta on the receiver's clock. Drift
 * must not grow the queue, and following it must not be heard: no underrun, nothing dropped,
 * no click, and the tone at the sender's true pitch, minute after minute.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module of the pages (no types)
import { JitterBuffer } from '../../../static/duo/jitter-buffer.js';

const RATE = 48000;
const FRAME = 960;
const QUANTUM = 128;
const MINUTES = 10;
const HZ = 440;
const AMPLITUDE = 0.5;
const QUANTA_PER_MINUTE = (60 * RATE) / QUANTUM;

interface Buffer { push(s: Float32Array): void; pull(out: Float32Array): void; buffered: number; underruns: number; dropped: number; cushion: number; slack: number }

interface Minute { meanBufferedMs: number; hz: number; clicks: number }

/**
 * The receiver's audio output: its pulls are `fast` ahead of real time, and it stalls for
 * `stallMs` every `stallEveryS` (Chromium's fake audio output, headless, does this: its level
 * falls ~2.5 ms a second, then jumps a frame back every ~8 s).
 */
interface Output { fast: number; stallMs: number; stallEveryS: number }
const STEADY: Output = { fast: 0, stallMs: 0, stallEveryS: Infinity };

/** Runs the call; `skew` is the sender's clock against the receiver's (+1e-4: 100 ppm fast). */
function call(skew: number, seed: number, output = STEADY): { minutes: Minute[]; maxBufferedMs: number; limitMs: number; underruns: number; droppedMs: number } {
  const jb = new JitterBuffer({ sampleRate: RATE }) as Buffer;
  const out = new Float32Array(QUANTUM);
  let rnd = seed;
  const jitter = (): number => ((rnd = (rnd * 1103515245 + 12345) >>> 0) % 30);
  const w = (2 * Math.PI * HZ) / RATE;
  let sent = 0;
  let lastArrival = 0;
  let nextArrival = jitter();
  const minutes: Minute[] = [];
  let maxBuffered = 0;
  // Per minute: buffered level, upward zero crossings (interpolated, in samples), clicks.
  let levelSum = 0;
  let firstCross = -1;
  let lastCross = -1;
  let crossings = 0;
  let clicks = 0;
  let y1 = 0;
  let y2 = 0;
  for (let q = 0; q < MINUTES * QUANTA_PER_MINUTE; q++) {
    const ahead = (q * QUANTUM * 1000) / RATE / (1 + output.fast);
    const now = ahead + Math.floor(ahead / 1000 / output.stallEveryS) * output.stallMs;
    while (nextArrival <= now) {
      const frame = new Float32Array(FRAME);
      for (let i = 0; i < FRAME; i++) frame[i] = AMPLITUDE * Math.sin(w * (sent * FRAME + i));
      jb.push(frame);
      sent++;
      lastArrival = nextArrival;
      nextArrival = Math.max(lastArrival, (sent * 20) / (1 + skew) + jitter());
    }
    jb.pull(out);
    const minuteQ = q % QUANTA_PER_MINUTE;
    if (now > 1000) maxBuffered = Math.max(maxBuffered, jb.buffered);
    levelSum += jb.buffered;
    for (let i = 0; i < QUANTUM; i++) {
      const y = out[i]!;
      const t = minuteQ * QUANTUM + i;
      // A sine's second difference is at most A * w^2 (0.0017 here); a dropped, repeated or
      // misplaced sample makes one near A * w (0.029).
      if (now > 200 && Math.abs(y - 2 * y1 + y2) > 0.01) clicks++;
      if (y1 < 0 && y >= 0) {
        const at = t - 1 + -y1 / (y - y1);
        if (firstCross < 0) firstCross = at;
        lastCross = at;
        crossings++;
      }
      y2 = y1;
      y1 = y;
    }
    if (minuteQ === QUANTA_PER_MINUTE - 1) {
      minutes.push({
        meanBufferedMs: (levelSum / QUANTA_PER_MINUTE / RATE) * 1000,
        hz: ((crossings - 1) * RATE) / (lastCross - firstCross),
        clicks,
      });
      levelSum = 0; firstCross = -1; lastCross = -1; crossings = 0; clicks = 0;
    }
  }
  return {
    minutes,
    maxBufferedMs: (maxBuffered * 1000) / RATE,
    limitMs: ((jb.cushion + jb.slack) * 1000) / RATE,
    underruns: jb.underruns,
    droppedMs: (jb.dropped * 1000) / RATE,
  };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('a 10-minute /duo call with drifting audio clocks', () => {
  it.each([
    ['in step', 0],
    ['100 ppm fast', 100e-6],
    ['100 ppm slow', -100e-6],
    ['1,000 ppm fast', 1000e-6],
    ['1,000 ppm slow', -1000e-6],
  ])('sender %s: the queue holds its level, with no underrun, drop or click, at the sender\'s pitch', (name, skew) => {
    const r = call(skew, 7);
    const m = r.minutes;
    console.log(`${name}: buffered per minute ${m.map((x) => x.meanBufferedMs.toFixed(1)).join(' ')} ms; tone ${m.map((x) => x.hz.toFixed(2)).join(' ')} Hz; underruns ${r.underruns}, dropped ${r.droppedMs.toFixed(0)} ms`);
    expect(r.underruns).toBe(0);
    expect(r.droppedMs).toBe(0);
    expect(m.map((x) => x.clicks)).toEqual(m.map(() => 0));
    expect(r.maxBufferedMs).toBeLessThanOrEqual(r.limitMs);
    // Without following, 1,000 ppm piles up (or drains) 60 ms a minute: here the level comes
    // back to where it settled and stays there.
    expect(Math.abs(mean(m.slice(-3).map((x) => x.meanBufferedMs)) - mean(m.slice(1, 4).map((x) => x.meanBufferedMs)))).toBeLessThanOrEqual(3);
    expect(Math.abs(m[m.length - 1]!.meanBufferedMs - m[0]!.meanBufferedMs)).toBeLessThanOrEqual(5);
    // The tone plays at the sender's true pitch (its clock's 440 Hz is 440 * (1 + skew) of ours).
    for (const x of m.slice(1)) expect(Math.abs(x.hz - HZ * (1 + skew))).toBeLessThanOrEqual(0.05);
  });

  it.each([
    ['in step', 0],
    ['1,000 ppm slow', -1000e-6],
  ])('sender %s, an output device 2,500 ppm fast and stalls a frame every 8 s: no underrun, drop or click', (name, skew) => {
    const r = call(skew, 5, { fast: 0.0025, stallMs: 20, stallEveryS: 8 });
    const m = r.minutes;
    console.log(`${name}, hiccuping output: buffered per minute ${m.map((x) => x.meanBufferedMs.toFixed(1)).join(' ')} ms; tone ${m.map((x) => x.hz.toFixed(2)).join(' ')} Hz; underruns ${r.underruns}, dropped ${r.droppedMs.toFixed(0)} ms`);
    expect(r.underruns).toBe(0);
    expect(r.droppedMs).toBe(0);
    expect(m.map((x) => x.clicks)).toEqual(m.map(() => 0));
    expect(Math.abs(m[m.length - 1]!.meanBufferedMs - m[1]!.meanBufferedMs)).toBeLessThanOrEqual(10);
    for (const x of m.slice(1)) expect(Math.abs(x.hz - HZ * (1 + skew))).toBeLessThanOrEqual(1);
  });

  it('a sender 5,000 ppm fast (past the 0.3 % the follower goes to) is trimmed now and then, never piles up', () => {
    const r = call(5000e-6, 11);
    const m = r.minutes;
    console.log(`5,000 ppm fast: buffered per minute ${m.map((x) => x.meanBufferedMs.toFixed(1)).join(' ')} ms; tone ${m.map((x) => x.hz.toFixed(2)).join(' ')} Hz; dropped ${r.droppedMs.toFixed(0)} ms`);
    expect(r.maxBufferedMs).toBeLessThanOrEqual(r.limitMs);
    // It plays 0.3 % fast (the cap: 441.3 Hz) and trims the other 0.2 %: 1.2 s of 3 s over 10 min.
    expect(r.droppedMs).toBeGreaterThan(600);
    expect(r.droppedMs).toBeLessThan(2000);
    for (const x of m.slice(1)) expect(x.hz).toBeLessThanOrEqual(HZ * 1.003 + 0.05);
  });
});
