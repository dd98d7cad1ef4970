/**
 * `--mix out.wav`: decodes the session's Ogg Opus files and sums them into one 48 kHz mono
 * WAV. The files share a timeline (each starts at the session start), so aligning is reading
 * them side by side; a granule jump in a foreign file is played as silence. Streams in 1 s
 * blocks, so memory stays flat for any length; the sum saturates instead of wrapping
 * (clip-safe). The WAV's size fields are patched every few seconds and at the end.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { OggOpusReader, type OggOpusPacket } from '../../media/ogg-opus.js';
import { OpusDecoderStream } from '../../media/opus.js';
import { mixInt16 } from '../../media/pcm.js';
import { WavStreamWriter } from '../../media/wav.js';
import { fileError } from './track-writer.js';

const RATE = 48000;
const BLOCK = RATE; // 1 s
const READ_CHUNK = 64 * 1024;

/** One input file decoded on demand into a queue of samples. */
class DecodedFile {
  private readonly fd: number;
  private readonly reader = new OggOpusReader();
  private readonly decoder = new OpusDecoderStream(RATE);
  private readonly chunk = Buffer.alloc(READ_CHUNK);
  private queue: Int16Array[] = [];
  private queued = 0;
  /** Decoded position (samples, pre-skip included): where the next packet's samples start. */
  private position = 0;
  private eof = false;
  /** Pre-skip samples still to drop; known once OpusHead is read. */
  private skip: number | undefined;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (err) {
      throw fileError(err, path, 'reading');
    }
  }

  get done(): boolean {
    return this.eof && this.queued === 0;
  }

  /** The next `n` samples, fewer at the end of the file. */
  take(n: number): Int16Array {
    while (!this.eof && this.queued < n) this.readMore();
    const out = new Int16Array(Math.min(n, this.queued));
    let at = 0;
    while (at < out.length) {
      const head = this.queue[0]!;
      const k = Math.min(out.length - at, head.length);
      out.set(head.subarray(0, k), at);
      at += k;
      if (k === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(k);
    }
    this.queued -= at;
    return out;
  }

  close(): void {
    this.decoder.release();
    closeSync(this.fd);
  }

  private readMore(): void {
    const n = readSync(this.fd, this.chunk, 0, READ_CHUNK, null);
    const packets = n > 0 ? this.reader.push(this.chunk.subarray(0, n)) : this.reader.end();
    if (n === 0) this.eof = true;
    for (const p of packets) this.decode(p);
  }

  private decode(p: OggOpusPacket): void {
    let pcm: Int16Array;
    try {
      pcm = this.decoder.decode(p.data);
    } catch {
      pcm = new Int16Array(0); // a corrupt packet: its place stays silent (the gap below)
    }
    const start = p.granule - pcm.length;
    if (start > this.position) this.push(new Int16Array(start - this.position));
    this.push(pcm);
  }

  private push(samples: Int16Array): void {
    this.position += samples.length;
    // Pre-skip (RFC 7845 §4.2): the first samples of the stream are not played.
    if (this.skip === undefined) this.skip = this.reader.head?.preSkip ?? 0;
    const drop = Math.min(this.skip, samples.length);
    this.skip -= drop;
    if (drop === samples.length) return;
    this.queue.push(samples.subarray(drop));
    this.queued += samples.length - drop;
  }
}

/** Mixes `inputs` (Ogg Opus files on one timeline) into `output` (WAV). Returns the mix length, ms. Throws IO_ERROR. */
export function mixOggOpusFiles(inputs: readonly string[], output: string): number {
  const files = inputs.map((p) => new DecodedFile(p));
  const wav = new WavStreamWriter(RATE);
  let fd: number | undefined;
  const write = (bytes: Buffer, position?: number) => {
    try {
      let at = 0;
      while (at < bytes.length) at += writeSync(fd!, bytes, at, bytes.length - at, position === undefined ? null : position + at);
    } catch (err) {
      throw fileError(err, output, 'writing');
    }
  };
  const patch = () => { for (const p of wav.sizePatches()) write(p.bytes, p.position); };
  try {
    try {
      fd = openSync(output, 'w');
    } catch (err) {
      throw fileError(err, output, 'creating');
    }
    write(wav.header());
    for (let block = 1; !files.every((f) => f.done); block++) {
      write(wav.samples(mixInt16(files.map((f) => f.take(BLOCK)))));
      if (block % 10 === 0) patch();
    }
    patch();
  } finally {
    for (const f of files) f.close();
    if (fd !== undefined) closeSync(fd);
  }
  return (wav.dataBytes / 2 / RATE) * 1000;
}
