/**
 * Pull sources of 20 ms Opus packets, what OpusSender.play() and the bots' pacer consume: any
 * 48 kHz PCM frame source (media/frames.ts) encoded live (a tone for tests, the load tester
 * and "beep" bots; a WAV file's samples), and a list of ready packets (an Ogg Opus file's, a
 * test's). Pure; files are opened in client/audio-files.ts.
 */
import { ToneFrames, type PcmFrameSource } from './frames.js';
import { OPUS_FAST_DEFAULTS, OpusEncoderStream, type OpusEncoderOptions } from './opus.js';

/** A pull source of 20 ms Opus packets (a tone, a file, a mixer). */
export interface OpusSource {
  /** The packet for frame `index`, or undefined for silence (nothing is sent: DTX). */
  nextFrame(index: number): Buffer | undefined;
  /** True once the source has nothing more to give: with nextFrame returning undefined, the sender stops and emits `ended`. */
  readonly ended?: boolean;
  /**
   * Keeps its bitrate at or under `bitsPerSecond` (a room's `--audio-bitrate`). Sources that
   * encode have it; ready packets (an Ogg Opus file) cannot change and do not.
   */
  capBitrate?(bitsPerSecond: number): void;
  /**
   * What the receivers report of loss on the link, 0..1 (an RTCP receiver report's fraction
   * lost; the worst link's when one source feeds several). Sources that encode turn it into
   * their encoder's in-band FEC and loss hint (OpusEncoderStream.reportLoss); ready packets cannot.
   */
  reportLoss?(fractionLost: number): void;
}

/** Encodes 48 kHz mono frames from a PCM frame source to Opus, one packet per tick. */
export class EncodedSource implements OpusSource {
  private readonly encoder: OpusEncoderStream;
  private bitrate: number;

  constructor(private readonly frames: PcmFrameSource, encoder: OpusEncoderOptions = {}) {
    this.encoder = new OpusEncoderStream(48000, encoder);
    this.bitrate = encoder.bitrate ?? OPUS_FAST_DEFAULTS.bitrate;
  }

  capBitrate(bitsPerSecond: number): void {
    if (bitsPerSecond >= this.bitrate) return;
    this.bitrate = Math.max(500, Math.floor(bitsPerSecond));
    this.encoder.setBitrate(this.bitrate);
  }

  reportLoss(fractionLost: number): void {
    this.encoder.reportLoss(fractionLost);
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

/**
 * Plays given packets in order, `undefined` entries as silence, then ends; with `loop` it
 * starts over instead and never ends. Each packet must last 20 ms: one per tick keeps real time.
 */
export class PacketListSource implements OpusSource {
  private at = 0;
  private readonly loop: boolean;

  constructor(private readonly packets: readonly (Buffer | undefined)[], options: { loop?: boolean } = {}) {
    this.loop = options.loop === true;
  }

  get ended(): boolean {
    return !this.loop && this.at >= this.packets.length;
  }

  nextFrame(): Buffer | undefined {
    if (this.at >= this.packets.length) {
      if (!this.loop || this.packets.length === 0) return undefined;
      this.at = 0;
    }
    return this.packets[this.at++];
  }
}
