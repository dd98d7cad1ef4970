import { createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { CallpeerError } from '../errors.js';
import { WavStreamWriter } from '../media/wav.js';

/**
 * Records mono Int16 audio to a 16-bit WAV file as it arrives. The header says "size unknown"
 * until close() writes the true sizes, so a file cut short by a crash still reads to its end.
 */
export class WavFileRecorder {
  private readonly wav: WavStreamWriter;
  private readonly out: WriteStream;
  private failure: CallpeerError | undefined;
  private closing: Promise<void> | undefined;

  /** Creates the file; rejects with IO_ERROR if it cannot be. */
  static async open(path: string, sampleRate: number): Promise<WavFileRecorder> {
    const recorder = new WavFileRecorder(path, sampleRate);
    await new Promise<void>((resolve) => {
      recorder.out.once('ready', () => resolve());
      recorder.out.once('error', () => resolve());
    });
    if (recorder.failure) throw recorder.failure;
    return recorder;
  }

  private constructor(readonly path: string, readonly sampleRate: number) {
    this.wav = new WavStreamWriter(sampleRate);
    this.out = createWriteStream(path);
    this.out.on('error', (err) => {
      this.failure ??= new CallpeerError('IO_ERROR', `cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? err.message})`, { cause: err, hint: 'check the folder exists and is writable' });
    });
    this.out.write(this.wav.header());
  }

  /** Seconds of audio written so far. */
  get seconds(): number {
    return this.wav.dataBytes / 2 / this.sampleRate;
  }

  write(samples: Int16Array): void {
    if (this.closing || this.failure) return;
    this.out.write(this.wav.samples(samples));
  }

  /** Finishes the file with its true sizes. Rejects with IO_ERROR if any write failed. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await new Promise<void>((resolve) => this.out.end(() => resolve()));
      if (this.failure) throw this.failure;
      const file = await open(this.path, 'r+');
      try {
        for (const patch of this.wav.sizePatches()) await file.write(patch.bytes, 0, patch.bytes.length, patch.position);
      } finally {
        await file.close();
      }
    })();
    return this.closing;
  }
}
