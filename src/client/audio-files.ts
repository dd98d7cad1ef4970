/** Opening a WAV file as 20 ms frames at a client's rate. */
import { readFile } from 'node:fs/promises';
import { CallpeerError } from '../errors.js';
import { wavFrames, type SampleFrames } from '../media/frames.js';

/** Reads a WAV file (any rate, channels downmixed) as frames at `rate`. */
export async function openWavFrames(path: string, rate: number, options: { loop?: boolean } = {}): Promise<SampleFrames> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CallpeerError('IO_ERROR', `cannot read ${path} (${code ?? 'error'})`, { cause: err, hint: 'check the path to the WAV file' });
  }
  try {
    return wavFrames(bytes, rate, options);
  } catch (err) {
    throw new CallpeerError('PARSE_ERROR', `${path} is not a WAV file we can read: ${(err as Error).message}`, { cause: err, hint: 'convert it, e.g. `sox in.mp3 -r 48000 -c 1 -b 16 out.wav`' });
  }
}
