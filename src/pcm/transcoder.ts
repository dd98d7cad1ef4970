/**
 * Converting one side's audio into the format its partner asked for. One transcoder per
 * direction of a pair, holding that stream's codec and resampler state; `close()` frees them.
 *
 *   pcm@a  -> pcm@a   none: forwarded byte for byte
 *   opus   -> opus    none: an Opus packet carries no sample rate, any decoder plays it
 *   pcm@a  -> pcm@b   resampled
 *   pcm@a  -> opus    re-framed into 20 ms at a, encoded at a
 *   opus   -> pcm@b   decoded straight to b (libopus decodes to any of the five rates)
 */
import { CallpeerError, isCallpeerError } from '../errors.js';
import { OpusDecoderStream, OpusEncoderStream } from '../media/opus.js';
import { int16Samples, int16ToBytes } from '../media/pcm.js';
import { Resampler } from '../media/resample.js';
import type { PcmParams } from '../protocol/pcm.js';

/** Receives each converted frame and how much audio it holds, ms. */
export type TranscodeSink = (frame: Buffer, ms: number) => void;

export interface Transcoder {
  /** One frame from the sender (PCM: whole samples, any length; Opus: one packet). */
  push(frame: Buffer): void;
  close(): void;
}

type Format = Pick<PcmParams, 'codec' | 'rate'>;

/** The transcoder from `from` to `to`, or undefined when frames can be forwarded as they are. */
export function createTranscoder(from: Format, to: Format, sink: TranscodeSink): Transcoder | undefined {
  if (from.codec === 'opus') return to.codec === 'opus' ? undefined : new OpusToPcm(to.rate, sink);
  if (to.codec === 'opus') return new PcmToOpus(from.rate, sink);
  return from.rate === to.rate ? undefined : new PcmResampler(from.rate, to.rate, sink);
}

class PcmResampler implements Transcoder {
  private readonly resampler: Resampler;
  private readonly samplesPerMs: number;

  constructor(fromRate: number, toRate: number, private readonly sink: TranscodeSink) {
    this.resampler = new Resampler(fromRate, toRate);
    this.samplesPerMs = toRate / 1000;
  }

  push(frame: Buffer): void {
    const out = this.resampler.process(int16Samples(frame));
    if (out.length > 0) this.sink(int16ToBytes(out), out.length / this.samplesPerMs);
  }

  close(): void {}
}

class PcmToOpus implements Transcoder {
  private readonly encoder: OpusEncoderStream;
  /** The 20 ms frame being filled; encode() reads it in place, so it is reused. */
  private readonly frame: Int16Array;
  private fill = 0;

  constructor(rate: number, private readonly sink: TranscodeSink) {
    this.encoder = new OpusEncoderStream(rate);
    this.frame = new Int16Array(this.encoder.frameSamples);
  }

  push(bytes: Buffer): void {
    const samples = int16Samples(bytes);
    let read = 0;
    while (read < samples.length) {
      const n = Math.min(samples.length - read, this.frame.length - this.fill);
      this.frame.set(samples.subarray(read, read + n), this.fill);
      this.fill += n;
      read += n;
      if (this.fill === this.frame.length) {
        this.fill = 0;
        this.sink(this.encoder.encode(this.frame), 20);
      }
    }
  }

  close(): void {
    this.encoder.release();
  }
}

class OpusToPcm implements Transcoder {
  private readonly decoder: OpusDecoderStream;
  private readonly samplesPerMs: number;

  constructor(rate: number, private readonly sink: TranscodeSink) {
    this.decoder = new OpusDecoderStream(rate);
    this.samplesPerMs = rate / 1000;
  }

  push(packet: Buffer): void {
    let samples: Int16Array;
    try {
      samples = this.decoder.decode(packet);
    } catch (err) {
      if (isCallpeerError(err, 'PARSE_ERROR')) throw new CallpeerError('INVALID_MESSAGE', `a ${packet.length}-byte binary frame is not an Opus packet`, { cause: err });
      throw err;
    }
    this.sink(int16ToBytes(samples), samples.length / this.samplesPerMs);
  }

  close(): void {
    this.decoder.release();
  }
}
