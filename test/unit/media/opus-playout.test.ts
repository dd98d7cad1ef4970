import { describe, expect, it } from 'vitest';
import { rms, toneShare } from '../../../src/media/analysis.js';
import { FrameQueue } from '../../../src/media/frame-queue.js';
import { OpusDecoderStream, OpusEncoderStream } from '../../../src/media/opus.js';
import { OpusPlayout } from '../../../src/media/opus-playout.js';
import { ToneGenerator } from '../../../src/media/tone.js';
import { clickBlocks, silentBlocks } from '../../helpers/tone-checks.js';

/** mulberry32: a seeded PRNG, so the loss pattern is the same on every run. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAMES = 500; // 10 s
const SEQ0 = 65300; // wraps at 65535 on the way

/** A 440 Hz tone as Opus packets, and when each arrives (ticks of 20 ms): ~5% never, ~5% 30 ms late, the rest within 10 ms. */
function lossyStream(seed: number) {
  const gen = new ToneGenerator(440, 48000);
  const enc = new OpusEncoderStream(48000);
  const packets = Array.from({ length: FRAMES }, () => enc.encode(gen.next(960)));
  const random = prng(seed);
  const arrivals: { index: number; at: number }[] = [];
  for (let i = 0; i < FRAMES; i++) {
    const r = random();
    if (r < 0.05) continue;
    arrivals.push({ index: i, at: i + (r < 0.1 ? 1.5 : random() * 0.5) });
  }
  arrivals.sort((a, b) => a.at - b.at);
  return { packets, arrivals, lost: FRAMES - arrivals.length };
}

/** Ticks every 20 ms: what arrived since the last tick goes in, then one frame is taken. */
function run(arrivals: { index: number; at: number }[], arrive: (index: number) => void, take: () => Int16Array | undefined): Int16Array {
  const out = new Int16Array((FRAMES + 10) * 960);
  let k = 0;
  for (let tick = 0; tick < FRAMES + 10; tick++) {
    while (k < arrivals.length && arrivals[k]!.at <= tick) arrive(arrivals[k++]!.index);
    const frame = take();
    if (frame) out.set(frame, tick * 960);
  }
  return out;
}

describe('OpusPlayout', () => {
  it('a tone through 5% loss and 5% reordering plays with no silent 20 ms and no click; decoded in arrival order it has both', () => {
    const { packets, arrivals, lost } = lossyStream(14);
    expect(lost).toBeGreaterThan(15);
    const playout = new OpusPlayout(48000);
    const out = run(arrivals, (i) => playout.push((SEQ0 + i) & 0xffff, packets[i]!), () => playout.take());
    const tone = out.subarray(5 * 960, FRAMES * 960); // from once it plays to the last packet
    expect(silentBlocks(tone, 48000)).toEqual([]);
    expect(clickBlocks(tone, 48000, 440)).toEqual([]);
    expect(toneShare(tone, 48000, 440)).toBeGreaterThan(0.98);
    expect(playout.stats).toMatchObject({ received: arrivals.length, lost, late: 0, duplicate: 0 });
    expect(playout.stats.concealed).toBeGreaterThanOrEqual(lost);
    expect(playout.targetMs).toBeLessThanOrEqual(60);

    // What the gateway did before: decode as packets come, into a 2-frame cushion.
    const decoder = new OpusDecoderStream(48000);
    const queue = new FrameQueue();
    const before = run(arrivals, (i) => queue.push(decoder.decode(packets[i]!)), () => queue.take());
    const old = before.subarray(5 * 960, FRAMES * 960);
    expect(silentBlocks(old, 48000).length).toBeGreaterThan(10);
    expect(clickBlocks(old, 48000, 440).length).toBeGreaterThan(10);
  });

  it('a source that stops fades out within 100 ms, and fades back in when it resumes', () => {
    const gen = new ToneGenerator(440, 48000);
    const enc = new OpusEncoderStream(48000);
    const playout = new OpusPlayout(48000);
    const frames: (Int16Array | undefined)[] = [];
    for (let i = 0; i < 50; i++) {
      playout.push(i, enc.encode(gen.next(960)));
      frames.push(playout.take());
    }
    for (let i = 0; i < 10; i++) frames.push(playout.take()); // the source is silent: nothing comes
    // The last packet (still buffered), two libopus PLC frames near full level, three fading to nothing.
    const levels = frames.slice(50, 57).map((f) => (f ? Math.round(rms(f) * 100) : -1));
    expect(levels[0]).toBeGreaterThan(30);
    expect(levels[1]).toBeGreaterThan(25);
    expect(levels.slice(2, 6)).toEqual([...levels.slice(2, 6)].sort((a, b) => b - a));
    expect(levels[6]).toBe(-1); // nothing to mix from here on
    expect(Math.abs(frames[55]![959]!)).toBeLessThan(100); // the fade ends at 0: no step to silence
    expect(clickBlocks(Int16Array.from(frames.slice(40, 56).flatMap((f) => [...f!])), 48000, 440)).toEqual([]);

    // It comes back (sequence numbers go on): the first decoded frame rises from 0.
    for (let i = 50; i < 53; i++) playout.push(i, enc.encode(gen.next(960)));
    const back = playout.take()!;
    expect(Math.abs(back[0]!)).toBeLessThan(100);
    expect(rms(back.subarray(720))).toBeGreaterThan(0.25);
    expect(playout.stats).toMatchObject({ underruns: 1, concealed: 5, lost: 0 });
  });

  it('a packet that does not decode is concealed like a lost one', () => {
    const gen = new ToneGenerator(440, 48000);
    const enc = new OpusEncoderStream(48000);
    const playout = new OpusPlayout(48000);
    const out: Int16Array[] = [];
    for (let i = 0; i < 30; i++) {
      const packet = enc.encode(gen.next(960));
      playout.push(i, i === 20 ? Buffer.from([0xfb, 0x00]) : packet); // code 3 with 0 frames: invalid
      const frame = playout.take();
      if (frame) out.push(frame);
    }
    const all = Int16Array.from(out.flatMap((f) => [...f]));
    expect(out.length).toBe(29);
    expect(silentBlocks(all.subarray(960 * 2), 48000)).toEqual([]);
    expect(clickBlocks(all.subarray(960 * 2), 48000, 440)).toEqual([]);
  });

  it('a lost packet whose successor is buffered is rebuilt from its FEC; with the successor missing too, concealed', () => {
    const gen = new ToneGenerator(700, 48000);
    const enc = new OpusEncoderStream(48000);
    enc.reportLoss(0.1); // FEC on: SILK with LBRR
    const packets = Array.from({ length: 30 }, () => enc.encode(gen.next(960)));
    const lost = new Set([10, 20, 21]);
    // A 3-frame cushion: when slot 10's turn comes, 11 is already here (and 22 for 21).
    const playout = new OpusPlayout(48000, { minDepth: 3 });
    const got: Int16Array[] = [];
    packets.forEach((p, i) => {
      if (!lost.has(i)) playout.push(i, p);
      const f = playout.take();
      if (f) got.push(f);
    });
    // The same decode by hand: 10 from 11's FEC; 20 concealed (21 is missing), 21 from 22's FEC.
    const dec = new OpusDecoderStream(48000);
    const want = packets.slice(0, 28).map((p, i) => (!lost.has(i) ? dec.decode(p) : lost.has(i + 1) ? dec.conceal() : dec.recover(packets[i + 1]!)));
    expect(got).toEqual(want);
    expect(playout.stats).toMatchObject({ lost: 3, fecFrames: 2, plcFrames: 1 });
  });

  it('keeps its own copy of each payload (senders reuse their buffers)', () => {
    const enc = new OpusEncoderStream(48000);
    const playout = new OpusPlayout(48000);
    const shared = Buffer.alloc(200);
    const gen = new ToneGenerator(440, 48000);
    const frames: Int16Array[] = [];
    for (let i = 0; i < 20; i++) {
      const p = enc.encode(gen.next(960));
      p.copy(shared);
      playout.push(i, shared.subarray(0, p.length));
      shared.fill(0xff); // the sender's next use
      const f = playout.take();
      if (f) frames.push(f);
    }
    expect(frames.length).toBe(19);
    expect(toneShare(Int16Array.from(frames.slice(2).flatMap((f) => [...f])), 48000, 440)).toBeGreaterThan(0.95);
  });
});
