/** Shared by the recorder tests: scheduled tones with pauses, decoding a recording, finding its pauses. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rms } from '../../src/media/analysis.js';
import { readOggOpus } from '../../src/media/ogg-opus.js';
import { OpusDecoderStream, OpusEncoderStream } from '../../src/media/opus.js';
import { ToneGenerator } from '../../src/media/tone.js';

export function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

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
  segments.forEach((n, i) => {
    if (i % 2 === 1) pauses.push([frames.length, frames.length + n]);
    for (let k = 0; k < n; k++) {
      const pcm = tone.next(960);
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
 * with its start and end within ±20 ms of where the first one puts it (time kept inside the
 * file), and the first one within [-20, +80] ms of `t0` + its frame time (the anchor includes
 * the network and event-loop delay). A stall of the sending bot may add pauses: ignored.
 * Returns the recording's time (ms) of frame 0, for comparing files.
 */
export function checkPauses(pcm: Int16Array, planned: [number, number][], t0: number): number {
  const found = findPauses(pcm);
  const nearest = (ms: number) => found.reduce((best, p) => (Math.abs(p[0] - ms) < Math.abs(best[0] - ms) ? p : best), found[0] ?? [NaN, NaN]);
  const first = nearest(t0 + planned[0]![0] * 20);
  const origin = first[0] - planned[0]![0] * 20;
  const offsets = planned.map(([f0, f1]) => {
    const p = nearest(origin + f0 * 20);
    return [p[0] - (origin + f0 * 20), p[1] - (origin + f1 * 20)];
  });
  const tooFar = offsets.flat().filter((d) => !(Math.abs(d) <= 20));
  if (tooFar.length > 0 || !(origin - t0 >= -20 && origin - t0 <= 80)) {
    throw new Error(`pauses off: found ${JSON.stringify(found)}, planned ${JSON.stringify(planned.map(([a, b]) => [t0 + a * 20, t0 + b * 20]))}`);
  }
  return origin;
}
