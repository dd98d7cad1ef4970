/** Shared by the recorder tests: scheduled tones with pauses, decoding a recording, finding its pauses. */
import { readFileSync } from 'node:fs';
import { rms } from '../../src/media/analysis.js';
import { readOggOpus } from '../../src/media/ogg-opus.js';
import { OpusDecoderStream, OpusEncoderStream } from '../../src/media/opus.js';
import { ToneGenerator } from '../../src/media/tone.js';
import type { OpusSource } from '../../src/media/opus-sources.js';

export { has } from '../helpers/tools.js';

/**
 * 20 ms Opus frames of a tone, `undefined` for silence: `segments` alternate tone and pause
 * lengths in frames. One encoder runs through the pauses (as with DTX), so its state matches a
 * decoder that played silence there. Also returns each pause as [first frame, end frame).
 */
export function tonePlan(hz: number, segments: number[]): { frames: (Buffer | undefined)[]; pauses: [number, number][] } {
  const tone = new ToneGenerator(hz, 48000, 0.5);
  const enc = new OpusEncoderStream(48000);
  const frames: (Buffer | undefined)[] = [];
  const pauses: [number, number][] = [];
  let seed = hz;
  segments.forEach((n, i) => {
    if (i % 2 === 1) pauses.push([frames.length, frames.length + n]);
    for (let k = 0; k < n; k++) {
      const pcm = tone.next(960);
      // A little dither: a steady tone repeats every few frames, and frames must be told apart (frameOrigins).
      for (let j = 0; j < pcm.length; j++) pcm[j] = pcm[j]! + ((seed = (seed * 1103515245 + 12345) >>> 0) % 65) - 32;
      if (i % 2 === 0) frames.push(enc.encode(pcm));
      else {
        // Like a DTX encoder: it goes on encoding the silence, nothing is sent.
        enc.encode(new Int16Array(960));
        frames.push(undefined);
      }
    }
  });
  return { frames, pauses };
}

/**
 * Plays frame `index` at pacer tick `index`: when a busy machine makes the bot's pacer skip
 * ticks, those frames are lost but the rest keep their planned times (a PacketListSource
 * would play them late instead, shifting the whole plan).
 */
export class ScheduledSource implements OpusSource {
  private last = -1;
  constructor(private readonly frames: readonly (Buffer | undefined)[]) {}

  get ended(): boolean {
    return this.last >= this.frames.length - 1;
  }

  nextFrame(index: number): Buffer | undefined {
    this.last = index;
    return this.frames[index];
  }
}

/** Decodes a whole recording (granule gaps as silence) to 48 kHz samples. */
export function decodeRecording(file: string): { pcm: Int16Array; granule: number } {
  const { packets, head } = readOggOpus(readFileSync(file));
  const dec = new OpusDecoderStream(48000);
  const chunks: Int16Array[] = [];
  let at = 0;
  for (const p of packets) {
    const pcm = dec.decode(p.data);
    if (p.granule - pcm.length > at) chunks.push(new Int16Array(p.granule - pcm.length - at));
    chunks.push(pcm);
    at = p.granule;
  }
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let i = 0;
  for (const c of chunks) { out.set(c, i); i += c.length; }
  return { pcm: out.subarray(head.preSkip), granule: at };
}

/** Runs of silence (5 ms blocks under 5 % RMS) at least `minMs` long, after the first sound: [start, end) in ms. */
export function findPauses(pcm: Int16Array, minMs = 200): [number, number][] {
  const block = 240;
  const loud: boolean[] = [];
  for (let i = 0; i + block <= pcm.length; i += block) loud.push(rms(pcm.subarray(i, i + block)) > 0.05);
  const pauses: [number, number][] = [];
  const first = loud.indexOf(true);
  let start = -1;
  for (let b = first; b >= 0 && b <= loud.length; b++) {
    const isLoud = b === loud.length ? true : loud[b]!;
    if (!isLoud && start < 0) start = b;
    if (isLoud && start >= 0) {
      if ((b - start) * 5 >= minMs && b < loud.length) pauses.push([start * 5, b * 5]);
      start = -1;
    }
  }
  return pauses;
}

/** Samples between two times (ms) of a recording. */
export function slice(pcm: Int16Array, fromMs: number, toMs: number): Int16Array {
  return pcm.subarray(Math.round(fromMs * 48), Math.round(toMs * 48));
}

/**
 * Checks a recording's pauses against the plan: each planned pause [f0, f1) (frames) is found
 * with its start and end within ±20 ms of where the last pause puts frame 0 (time kept inside
 * the file), and frame 0 within [-20, +80] ms of `t0` (the anchor includes the network and
 * event-loop delay). The first pause may start up to 150 ms late: when the first packets were
 * all held up (a busy machine), the recorder takes that out of the first pause. A stall of the
 * sending bot may add pauses: ignored. Returns the recording's time (ms) of frame 0.
 */
export function checkPauses(pcm: Int16Array, planned: [number, number][], t0: number): number {
  const found = findPauses(pcm);
  const nearest = (ms: number) => found.reduce((best, p) => (Math.abs(p[0] - ms) < Math.abs(best[0] - ms) ? p : best), found[0] ?? [NaN, NaN]);
  const lastPlanned = planned.at(-1)!;
  const origin = nearest(t0 + lastPlanned[0] * 20)[1] - lastPlanned[1] * 20;
  const offsets = planned.map(([f0, f1], i) => {
    const p = nearest(origin + f1 * 20 - (f1 - f0) * 20);
    const startOff = p[0] - (origin + f0 * 20);
    return [i === 0 && startOff > 0 && startOff <= 150 ? 0 : startOff, p[1] - (origin + f1 * 20)];
  });
  const tooFar = offsets.flat().filter((d) => !(Math.abs(d) <= 20));
  if (tooFar.length > 0 || !(origin - t0 >= -20 && origin - t0 <= 80)) {
    throw new Error(`pauses off: found ${JSON.stringify(found)}, planned ${JSON.stringify(planned.map(([a, b]) => [t0 + a * 20, t0 + b * 20]))}`);
  }
  return origin;
}

/**
 * Where each planned frame landed in a recording: for every packet whose bytes are frame k of
 * `frames`, [k, its start (ms from the session start) minus k x 20 ms]. A recording that keeps
 * time gives the same value for every packet (frame 0's time), whatever was lost, skipped or
 * paused in between.
 */
export function frameOrigins(file: string, frames: readonly (Buffer | undefined)[]): [number, number][] {
  const index = new Map<string, number>();
  const seen = new Set<string>();
  frames.forEach((f, k) => {
    const key = f?.toString('hex');
    if (key === undefined) return;
    if (seen.has(key)) index.delete(key); // ambiguous: left out
    else index.set(key, k);
    seen.add(key);
  });
  const { packets, head } = readOggOpus(readFileSync(file));
  const origins: [number, number][] = [];
  for (const p of packets) {
    const k = index.get(Buffer.from(p.data).toString('hex'));
    if (k !== undefined) origins.push([k, (p.granule - head.preSkip - 960) / 48 - k * 20]);
  }
  return origins;
}

/**
 * Checks that every frame from `settledFrom` on sits at one origin (±10 ms) within [-20, +80]
 * ms of `t0`, and earlier ones no more than 150 ms after it (a late anchor, when the first
 * packets were all held up, is corrected in the first gap). Returns the origin.
 */
export function checkFrameOrigins(origins: [number, number][], t0: number, settledFrom: number): number {
  const settled = origins.filter(([k]) => k >= settledFrom).map(([, o]) => o).sort((a, b) => a - b);
  const origin = settled[Math.floor(settled.length / 2)]!;
  const off = origins.filter(([k, o]) => (k >= settledFrom ? Math.abs(o - origin) > 10 : o - origin < -10 || o - origin > 150));
  if (settled.length === 0 || off.length > 0 || !(origin - t0 >= -20 && origin - t0 <= 80)) {
    throw new Error(`frames off their places: origin ${origin?.toFixed(1)} (t0 ${t0.toFixed(1)}), off: ${JSON.stringify(off.slice(0, 10))}`);
  }
  return origin;
}
