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
  return wavFrames(bytes, rate, options);
}
