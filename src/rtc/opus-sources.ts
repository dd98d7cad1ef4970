/**
 * OpusSource implementations for OpusSender.play() and the bots' pacer: any 48 kHz frame
 * source encoded live (a tone for tests, the load tester and "beep" bots; a WAV file's
 * samples), and a list of ready packets. Ogg Opus files come with the bots (bots/file-sources).
 */
import { ToneFrames, type PcmFrameSource } from '../media/frames.js';
import { OpusEncoderStream, type OpusEncoderOptions } from '../media/opus.js';
import type { OpusSource } from './opus-sender.js';

/** Encodes 48 kHz mono frames from a PCM frame source to Opus, one packet per tick. */
export class EncodedSource implements OpusSource {
  private readonly encoder: OpusEncoderStream;

  constructor(private readonly frames: PcmFrameSource, encoder: OpusEncoderOptions = {}) {
    this.encoder = new OpusEncoderStream(48000, encoder);
  }

  get ended(): boolean {
    return this.frames.ended;
  }

  nextFrame(): Buffer | undefined {
    const frame = this.frames.nextFrame();
    return frame && this.encoder.encode(frame);
  }
}

/** An endless (or `durationMs`-long) sine tone, encoded live at 48 kHz mono. */
export class ToneSource extends EncodedSource {
  /**
   * @param frequency Hz
   * @param options amplitude 0..1 (default 0.5); durationMs (default endless); encoder options
   */
  constructor(frequency: number, options: { amplitude?: number; durationMs?: number; encoder?: OpusEncoderOptions } = {}) {
    super(new ToneFrames(frequency, 48000, options), options.encoder);
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
