/**
 * What a PCM client plays: 20 ms frames of mono Int16 at the client's own rate, one per tick.
 * A tone (endless or timed) and a file's samples (a WAV of any rate, resampled once).
 */
import { readFile } from 'node:fs/promises';
import { CallpeerError } from '../errors.js';
import { resampleAll } from '../media/resample.js';
import { ToneGenerator } from '../media/tone.js';
import { parseWav } from '../media/wav.js';
import { samplesPerFrame } from '../protocol/pcm.js';

export interface PcmFrameSource {
  /** The next 20 ms frame, or undefined once the source has ended. The array may be reused. */
  nextFrame(): Int16Array | undefined;
  readonly ended: boolean;
}

/** A sine tone at `rate`, endless unless `durationMs` is given. */
export class ToneFrames implements PcmFrameSource {
  private readonly tone: ToneGenerator;
  private readonly frame: Int16Array;
  private readonly frames: number;
  private produced = 0;

  constructor(frequency: number, rate: number, options: { amplitude?: number; durationMs?: number } = {}) {
    this.tone = new ToneGenerator(frequency, rate, options.amplitude ?? 0.5);
    this.frame = new Int16Array(samplesPerFrame(rate));
    this.frames = options.durationMs === undefined ? Infinity : Math.round(options.durationMs / 20);
  }

  get ended(): boolean {
    return this.produced >= this.frames;
  }

  nextFrame(): Int16Array | undefined {
    if (this.ended) return undefined;
    this.produced++;
    return this.tone.next(this.frame.length, this.frame);
  }
}

/** Plays given samples once (or in a loop); the last frame is padded with silence. */
export class SampleFrames implements PcmFrameSource {
  private at = 0;
  private readonly frame: Int16Array;

  constructor(private readonly samples: Int16Array, rate: number, private readonly loop = false) {
    if (samples.length === 0) throw new CallpeerError('PARSE_ERROR', 'the audio has no samples');
    this.frame = new Int16Array(samplesPerFrame(rate));
  }

  get ended(): boolean {
    return !this.loop && this.at >= this.samples.length;
  }

  nextFrame(): Int16Array | undefined {
    if (this.at >= this.samples.length) {
      if (!this.loop) return undefined;
      this.at = 0;
    }
    this.frame.fill(0);
    this.frame.set(this.samples.subarray(this.at, this.at + this.frame.length));
    this.at += this.frame.length;
    return this.frame;
  }
}

/** Reads a WAV file (any rate, channels downmixed) as frames at `rate`. */
export async function openWavFrames(path: string, rate: number, options: { loop?: boolean } = {}): Promise<SampleFrames> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CallpeerError('IO_ERROR', `cannot read ${path} (${code ?? 'error'})`, { cause: err, hint: 'check the path to the WAV file' });
  }
  const wav = parseWav(bytes);
  const samples = wav.sampleRate === rate ? wav.samples : resampleAll(wav.samples, wav.sampleRate, rate);
  return new SampleFrames(samples, rate, options.loop === true);
}
