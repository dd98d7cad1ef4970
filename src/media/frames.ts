/**
 * Sources of 20 ms frames of mono Int16 at a given rate, one per tick: a tone (endless or
 * timed) and given samples (once or looped). Pure; the PCM client plays them as they are,
 * the bots encode them to Opus (media/opus-sources.ts).
 */
import { CallpeerError } from '../errors.js';
import { resampleAll } from './resample.js';
import { ToneGenerator } from './tone.js';
import { parseWav } from './wav.js';

/** Samples in one 20 ms frame at `rate`. */
function frameSamples(rate: number): number {
  return rate / 50;
}

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
    this.frame = new Int16Array(frameSamples(rate));
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
    this.frame = new Int16Array(frameSamples(rate));
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


/** A WAV file's bytes (any rate, channels downmixed) as frames at `rate`. */
export function wavFrames(bytes: Uint8Array, rate: number, options: { loop?: boolean } = {}): SampleFrames {
  const wav = parseWav(bytes);
  const samples = wav.sampleRate === rate ? wav.samples : resampleAll(wav.samples, wav.sampleRate, rate);
  return new SampleFrames(samples, rate, options.loop === true);
}
