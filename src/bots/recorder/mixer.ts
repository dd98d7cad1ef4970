/**
 * `--mix out.wav`: decodes the session's Ogg Opus files and sums them into one 48 kHz mono
 * WAV. The files share a timeline (each starts at the session start), so aligning is reading
 * them side by side; a granule jump in a foreign file is played as silence, and a lost-packet
 * marker (a TOC byte alone, where the recorder lost packets) is rebuilt from the next packet's
 * in-band FEC when that packet follows it directly, else concealed (OpusLossDecoder). Streams in 1 s
 * blocks, so memory stays flat for any length; the sum saturates instead of wrapping
 * (clip-safe). The WAV's size fields are patched every few seconds and at the end.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { OggOpusReader, type OggOpusPacket } from '../../media/ogg-opus.js';
import { OpusLossDecoder } from '../../media/opus-loss-decoder.js';
import { isOpusLossMarker, opusPacketSamples48k } from '../../media/opus-packet.js';
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
  private readonly decoder = new OpusLossDecoder(RATE);
  /** Lost-packet markers waiting for the packet after them (its FEC rebuilds the last). */
  private lost: OggOpusPacket[] = [];
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
    for (const p of packets) this.decode(p);
    if (n === 0) {
      this.eof = true;
      this.makeUpLost(undefined);
    }
  }

  private decode(p: OggOpusPacket): void {
    if (isOpusLossMarker(p.data)) {
      this.lost.push(p);
      return;
    }
    this.makeUpLost(p);
    // A corrupt packet is concealed; once concealment has gone silent, the gap below stays silent.
    this.place(p.granule, this.decoder.decode(p.data));
  }

  /** The frames of the markers waiting, before `next` (undefined: the end of the file). */
  private makeUpLost(next: OggOpusPacket | undefined): void {
    const last = this.lost.at(-1);
    for (const m of this.lost) this.place(m.granule, this.decoder.lost(m === last && next && follows(next, m) ? next.data : undefined));
    this.lost = [];
  }

  /** Samples ending at `granule`, after silence for any gap before them. */
  private place(granule: number, pcm: Int16Array = new Int16Array(0)): void {
    const start = granule - pcm.length;
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

/** Whether packet `p` starts where `before` ends (no granule jump between them). */
function follows(p: OggOpusPacket, before: OggOpusPacket): boolean {
  try {
    return p.granule - opusPacketSamples48k(p.data) === before.granule;
  } catch {
    return false;
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
