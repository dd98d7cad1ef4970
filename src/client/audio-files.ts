/**
 * Audio files for the Node clients, the one place that reads them: WAV (any rate, channels
 * downmixed) and Ogg Opus. The bots and the load tester take an OpusSource (a WAV encoded
 * live at 48 kHz, one 20 ms frame per tick; Ogg Opus packets sent as they are, no
 * re-encoding); the PCM client takes 20 ms PCM frames at its own rate. The sources themselves
 * are pure (media/frames.ts, media/opus-sources.ts); this module adds the file and its errors.
 */
import { readFile } from 'node:fs/promises';
import { CallpeerError } from '../errors.js';
import { wavFrames, type SampleFrames } from '../media/frames.js';
import { readOggOpus } from '../media/ogg-opus.js';
import { opusPacketSamples48k } from '../media/opus-packet.js';
import { EncodedSource, PacketListSource, type OpusSource } from '../media/opus-sources.js';

/** Samples in a 20 ms Opus frame at 48 kHz. */
const FRAME = 960;
const CONVERT_HINT = 'convert it, e.g. `sox in.mp3 -r 48000 -c 1 -b 16 out.wav`';

/** The file's bytes, or IO_ERROR naming it; `kinds` says what the file should be, for the hint. */
async function readAudio(path: string, kinds: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CallpeerError('IO_ERROR', `cannot read ${path} (${code ?? 'error'})`, { cause: err, hint: `check the path to the ${kinds} file` });
  }
}

/** Runs a parser, naming the file and the format in its error. */
function parsing<T>(path: string, format: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new CallpeerError('PARSE_ERROR', `${path} is not a ${format} file we can read: ${(err as Error).message}`, { cause: err, hint: CONVERT_HINT });
  }
}

/** Opens a WAV or Ogg Opus file as an OpusSource; the format is read from the file, not its name. */
export async function openAudioFile(path: string, options: { loop?: boolean } = {}): Promise<OpusSource> {
  const bytes = await readAudio(path, 'WAV or Ogg Opus');
  const magic = bytes.subarray(0, 4).toString('latin1');
  if (magic === 'RIFF') {
    return new EncodedSource(parsing(path, 'WAV', () => wavFrames(bytes, 48000, options)));
  }
  if (magic === 'OggS') {
    const { packets } = parsing(path, 'Ogg Opus', () => readOggOpus(bytes));
    if (packets.length === 0) throw new CallpeerError('PARSE_ERROR', `${path}: the Ogg Opus stream has no audio packets`, { hint: CONVERT_HINT });
    const odd = packets.find((p) => opusPacketSamples48k(p.data) !== FRAME);
    if (odd) {
      throw new CallpeerError('CODEC_NOT_SUPPORTED', `${path} has Opus frames of ${opusPacketSamples48k(odd.data) / 48} ms; bots send 20 ms frames`, { hint: 're-encode it with `opusenc --framesize 20`, or give a WAV file' });
    }
    // Views on the file's bytes, not copies.
    return new PacketListSource(packets.map(({ data }) => Buffer.from(data.buffer, data.byteOffset, data.byteLength)), options);
  }
  throw new CallpeerError('PARSE_ERROR', `${path} is neither a WAV nor an Ogg Opus file`, { hint: 'convert it, e.g. `sox in.mp3 -r 48000 -c 1 out.wav`' });
}

/** Reads a WAV file (any rate, channels downmixed) as 20 ms frames at `rate`, for the PCM client. */
export async function openWavFrames(path: string, rate: number, options: { loop?: boolean } = {}): Promise<SampleFrames> {
  const bytes = await readAudio(path, 'WAV');
  return parsing(path, 'WAV', () => wavFrames(bytes, rate, options));
}
