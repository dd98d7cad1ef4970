/**
 * RIFF WAVE: a reader (PCM 8/16/24/32-bit, float 32/64-bit, WAVE_FORMAT_EXTENSIBLE, any rate
 * and channel count, downmixed to mono Int16) and a 16-bit mono writer. Pure, no I/O.
 *
 *   offset  size  field
 *        0     4  "RIFF"
 *        4     4  RIFF size = file size - 8 (LE)
 *        8     4  "WAVE"
 *       12        chunks: id (4) + size (4, LE) + data, padded to an even size
 *                 "fmt ": format tag (2: 1 PCM, 3 float, 0xFFFE extensible), channels (2),
 *                         sample rate (4), byte rate (4), block align (2), bits (2),
 *                         [cbSize (2), valid bits (2), channel mask (4), sub-format GUID (16)]
 *                 "data": the samples, interleaved, little-endian
 *                 anything else (LIST, fact, ...): skipped
 *
 * Streaming convention: a writer that does not know the final length writes 0xFFFFFFFF in
 * both size fields (as ffmpeg and sox do for pipes), and the reader then takes the data chunk
 * to the end of the file. WavStreamWriter also gives the patches to write the true sizes,
 * periodically and on close, so a file cut short by a crash stays readable either way.
 */
import { CallpeerError } from '../errors.js';
import { bytesToInt16, floatToInt16Sample, int16ToBytes } from './pcm.js';

/** Size field value meaning "unknown, to the end of the file". */
export const WAV_UNKNOWN_SIZE = 0xffffffff;
const HEADER_BYTES = 44;

export interface WavInfo {
  sampleRate: number;
  /** Channels in the file (the samples are always downmixed to mono). */
  channels: number;
  bitsPerSample: number;
  encoding: 'pcm' | 'float';
}

export interface WavAudio extends WavInfo {
  /** Mono Int16 samples. */
  samples: Int16Array;
}

function parseError(message: string, offset: number): CallpeerError {
  return new CallpeerError('PARSE_ERROR', `WAV: ${message} at offset ${offset}`);
}

function parseFmt(b: Buffer, at: number, size: number): WavInfo {
  if (size < 16) throw parseError(`fmt chunk of ${size} bytes, needs 16`, at);
  let tag = b.readUInt16LE(at);
  const channels = b.readUInt16LE(at + 2);
  const sampleRate = b.readUInt32LE(at + 4);
  const blockAlign = b.readUInt16LE(at + 12);
  const bitsPerSample = b.readUInt16LE(at + 14);
  if (tag === 0xfffe) {
    if (size < 40) throw parseError(`extensible fmt chunk of ${size} bytes, needs 40`, at);
    tag = b.readUInt16LE(at + 24); // first two bytes of the sub-format GUID
  }
  const encoding = tag === 1 ? 'pcm' : tag === 3 ? 'float' : undefined;
  if (!encoding) throw parseError(`format tag 0x${tag.toString(16)} unsupported (PCM or float only)`, at);
  const okBits = encoding === 'pcm' ? [8, 16, 24, 32] : [32, 64];
  if (!okBits.includes(bitsPerSample)) throw parseError(`${bitsPerSample}-bit ${encoding} unsupported`, at + 14);
  if (channels === 0 || sampleRate === 0) throw parseError(`${channels} channels at ${sampleRate} Hz`, at + 2);
  if (blockAlign !== (channels * bitsPerSample) / 8) throw parseError(`block align ${blockAlign} for ${channels} x ${bitsPerSample} bits`, at + 12);
  return { sampleRate, channels, bitsPerSample, encoding };
}

/** Reads one sample as a float in [-1, 1]. */
function sampleReader(info: WavInfo): (b: Buffer, at: number) => number {
  if (info.encoding === 'float') return info.bitsPerSample === 32 ? (b, at) => b.readFloatLE(at) : (b, at) => b.readDoubleLE(at);
  switch (info.bitsPerSample) {
    case 8: return (b, at) => (b[at]! - 128) / 128; // 8-bit WAV is unsigned
    case 16: return (b, at) => b.readInt16LE(at) / 32768;
    case 24: return (b, at) => b.readIntLE(at, 3) / 8388608;
    default: return (b, at) => b.readInt32LE(at) / 2147483648;
  }
}

function decodeSamples(b: Buffer, start: number, length: number, info: WavInfo): Int16Array {
  const width = info.bitsPerSample / 8;
  const block = width * info.channels;
  const frames = Math.floor(length / block);
  if (info.encoding === 'pcm' && info.bitsPerSample === 16 && info.channels === 1) {
    return bytesToInt16(b.subarray(start, start + 2 * frames));
  }
  const read = sampleReader(info);
  const out = new Int16Array(frames);
  for (let f = 0, at = start; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < info.channels; c++, at += width) sum += read(b, at);
    out[f] = floatToInt16Sample(sum / info.channels);
  }
  return out;
}

/**
 * Parses a WAV file into mono Int16. Throws PARSE_ERROR (with the offset) on a non-RIFF file,
 * an unsupported format, a missing fmt/data chunk, or a data chunk longer than the file.
 */
export function parseWav(bytes: Uint8Array): WavAudio {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b.length < 12) throw parseError(`${b.length} bytes, a RIFF header needs 12`, b.length);
  if (b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') throw parseError('not a RIFF WAVE file', 0);
  let info: WavInfo | undefined;
  let at = 12;
  for (;;) {
    if (at + 8 > b.length) throw parseError(info ? 'no data chunk' : 'no fmt chunk', at);
    const id = b.toString('latin1', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === 'data') {
      if (!info) throw parseError('data chunk before the fmt chunk', at);
      const available = b.length - body;
      if (size !== WAV_UNKNOWN_SIZE && size > available) throw parseError(`data chunk of ${size} bytes truncated to ${available}`, at + 4);
      return { ...info, samples: decodeSamples(b, body, size === WAV_UNKNOWN_SIZE ? available : size, info) };
    }
    if (body + size > b.length) throw parseError(`${JSON.stringify(id)} chunk of ${size} bytes past the end`, at + 4);
    if (id === 'fmt ') info = parseFmt(b, body, size);
    at = body + size + (size & 1);
  }
}

/** A 44-byte header for 16-bit mono PCM; `dataBytes` WAV_UNKNOWN_SIZE for a stream of unknown length. */
export function wavHeader(sampleRate: number, dataBytes: number = WAV_UNKNOWN_SIZE): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(dataBytes === WAV_UNKNOWN_SIZE ? WAV_UNKNOWN_SIZE : dataBytes + 36, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28); // byte rate
  h.writeUInt16LE(2, 32); // block align
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/** A complete 16-bit mono WAV file. */
export function encodeWav(samples: Int16Array, sampleRate: number): Buffer {
  return Buffer.concat([wavHeader(sampleRate, samples.length * 2), int16ToBytes(samples)]);
}

/** Bytes to overwrite at a file position. */
export interface FilePatch {
  position: number;
  bytes: Buffer;
}

/**
 * Builds a 16-bit mono WAV file as a stream: header() first (sizes 0xFFFFFFFF), then
 * samples() for each chunk of audio, appended in order. sizePatches() returns the two size
 * fields for the data so far: write them (e.g. with fs.write at a position) every few seconds
 * and on close, so that the file always declares at most what it holds.
 */
export class WavStreamWriter {
  private bytes = 0;

  constructor(readonly sampleRate: number) {
    if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new TypeError(`bad WAV sample rate ${sampleRate}`);
  }

  /** Data bytes written so far. */
  get dataBytes(): number {
    return this.bytes;
  }

  header(): Buffer {
    return wavHeader(this.sampleRate);
  }

  samples(samples: Int16Array): Buffer {
    const out = Buffer.from(int16ToBytes(samples)); // a copy: the caller may reuse `samples`
    this.bytes += out.length;
    return out;
  }

  sizePatches(): FilePatch[] {
    const riff = Buffer.alloc(4);
    riff.writeUInt32LE(this.bytes + 36);
    const data = Buffer.alloc(4);
    data.writeUInt32LE(this.bytes);
    return [{ position: 4, bytes: riff }, { position: 40, bytes: data }];
  }
}
