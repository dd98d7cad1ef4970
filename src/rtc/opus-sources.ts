/**
 * OpusSource implementations for OpusSender.play(): a sine tone (tests, the load tester, a
 * "beep" bot) and a list of ready packets. File sources (WAV, Ogg Opus) come with the bots.
 */
import { OpusEncoderStream, type OpusEncoderOptions } from '../media/opus.js';
import { ToneGenerator } from '../media/tone.js';
import type { OpusSource } from './opus-sender.js';

const FRAME_SAMPLES = 960; // 20 ms at 48 kHz

/** An endless (or `durationMs`-long) sine tone, encoded live at 48 kHz mono. */
export class ToneSource implements OpusSource {
  private readonly tone: ToneGenerator;
  private readonly encoder: OpusEncoderStream;
  private readonly frame = new Int16Array(FRAME_SAMPLES);
  private readonly frames: number;
  private produced = 0;

  /**
   * @param frequency Hz
   * @param options amplitude 0..1 (default 0.5); durationMs (default endless); encoder options
   */
  constructor(frequency: number, options: { amplitude?: number; durationMs?: number; encoder?: OpusEncoderOptions } = {}) {
    this.tone = new ToneGenerator(frequency, 48000, options.amplitude ?? 0.5);
    this.encoder = new OpusEncoderStream(48000, options.encoder ?? {});
    this.frames = options.durationMs === undefined ? Infinity : Math.round(options.durationMs / 20);
  }

  get ended(): boolean {
    return this.produced >= this.frames;
  }

  nextFrame(): Buffer | undefined {
    if (this.ended) return undefined;
    this.produced++;
    return this.encoder.encode(this.tone.next(FRAME_SAMPLES, this.frame));
  }
}

/** Plays given packets in order, `undefined` entries as silence, then ends. */
export class PacketListSource implements OpusSource {
  private at = 0;
  constructor(private readonly packets: readonly (Buffer | undefined)[]) {}

  get ended(): boolean {
    return this.at >= this.packets.length;
  }

  nextFrame(): Buffer | undefined {
    return this.ended ? undefined : this.packets[this.at++];
  }
}
