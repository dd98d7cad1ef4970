/**
 * Audio files as OpusSources for the bots: WAV (any rate, resampled to 48 kHz and encoded
 * live, one 20 ms frame per tick) and Ogg Opus (its packets sent as they are, no re-encoding).
 */
import { readFile } from 'node:fs/promises';
import { CallpeerError } from '../errors.js';
import { readOggOpus } from '../media/ogg-opus.js';
import { opusPacketSamples48k } from '../media/opus-packet.js';
import { wavFrames } from '../media/frames.js';
import type { OpusSource } from '../rtc/opus-sender.js';
import { EncodedSource } from '../rtc/opus-sources.js';

/** Samples in a 20 ms Opus frame at 48 kHz. */
const FRAME = 960;

/** Plays Ogg Opus packets as they are (each must last 20 ms: one per tick keeps real time). */
export class OpusPacketSource implements OpusSource {
  private at = 0;

  constructor(private readonly packets: readonly Uint8Array[], private readonly loop = false) {
    if (packets.length === 0) throw new CallpeerError('PARSE_ERROR', 'the Ogg Opus stream has no audio packets');
  }

  get ended(): boolean {
    return !this.loop && this.at >= this.packets.length;
  }

  nextFrame(): Buffer | undefined {
    if (this.at >= this.packets.length) {
      if (!this.loop) return undefined;
      this.at = 0;
    }
    const p = this.packets[this.at++]!;
    return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  }
}

/** Runs a parser, naming the file and the format in its error. */
function parsing<T>(path: string, format: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new CallpeerError('PARSE_ERROR', `${path} is not a ${format} file we can read: ${(err as Error).message}`, { cause: err, hint: 'convert it, e.g. `sox in.mp3 -r 48000 -c 1 -b 16 out.wav`' });
  }
}

/** Opens a WAV or Ogg Opus file as a source; the format is read from the file, not its name. */
export async function openAudioFile(path: string, options: { loop?: boolean } = {}): Promise<OpusSource> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CallpeerError('IO_ERROR', `cannot read ${path} (${code ?? 'error'})`, { cause: err, hint: 'check the path to the WAV or Ogg Opus file' });
  }
  const magic = bytes.subarray(0, 4).toString('latin1');
  if (magic === 'RIFF') {
    return new EncodedSource(parsing(path, 'WAV', () => wavFrames(bytes, 48000, options)));
  }
  if (magic === 'OggS') {
    const { packets } = parsing(path, 'Ogg Opus', () => readOggOpus(bytes));
    const odd = packets.find((p) => opusPacketSamples48k(p.data) !== FRAME);
    if (odd) {
      throw new CallpeerError('CODEC_NOT_SUPPORTED', `${path} has Opus frames of ${opusPacketSamples48k(odd.data) / 48} ms; bots send 20 ms frames`, { hint: 're-encode it with `opusenc --framesize 20`, or give a WAV file' });
    }
    return new OpusPacketSource(packets.map((p) => p.data), options.loop);
  }
  throw new CallpeerError('PARSE_ERROR', `${path} is neither a WAV nor an Ogg Opus file`, { hint: 'convert it, e.g. `sox in.mp3 -r 48000 -c 1 out.wav`' });
}
