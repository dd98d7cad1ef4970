/**
 * IVF, the plain container for VP8 frames: a file header, then each frame after a frame
 * header. Pure: the recorder's IvfWriter (bots/recorder/ivf-writer.ts) puts them in a file.
 *
 * File header (32 bytes, little-endian):      Frame header (12 bytes):
 *   "DKIF"               4                      frame size (bytes)   4
 *   version = 0          2                      timestamp (pts)      8   in time-base units
 *   header size = 32     2
 *   codec FourCC "VP80"  4
 *   width, height        2 + 2
 *   time base: rate, scale  4 + 4   (pts unit = scale / rate s; here 1/90000, RTP's video clock)
 *   frame count          4
 *   unused               4
 */
import { CallpeerError } from '../errors.js';

export const IVF_HEADER_BYTES = 32;
export const IVF_FRAME_HEADER_BYTES = 12;

export function ivfHeader(h: { width: number; height: number; rate: number; scale: number; frames: number; fourcc?: string }): Buffer {
  const b = Buffer.alloc(IVF_HEADER_BYTES);
  b.write('DKIF', 0, 'latin1');
  b.writeUInt16LE(0, 4);
  b.writeUInt16LE(IVF_HEADER_BYTES, 6);
  b.write(h.fourcc ?? 'VP80', 8, 'latin1');
  b.writeUInt16LE(h.width, 12);
  b.writeUInt16LE(h.height, 14);
  b.writeUInt32LE(h.rate, 16);
  b.writeUInt32LE(h.scale, 20);
  b.writeUInt32LE(h.frames, 24);
  return b;
}

export function ivfFrameHeader(size: number, pts: number): Buffer {
  const b = Buffer.alloc(IVF_FRAME_HEADER_BYTES);
  b.writeUInt32LE(size, 0);
  b.writeBigUInt64LE(BigInt(pts), 4);
  return b;
}

/** Frame timestamps are in 1/90000 s, like VP8's RTP clock. */
export const IVF_RATE = 90000;

export interface IvfFile {
  fourcc: string;
  width: number;
  height: number;
  /** Time base: a pts unit is scale / rate seconds. */
  rate: number;
  scale: number;
  frames: Array<{ pts: number; data: Buffer }>;
}

/** Reads an IVF file (views into `buf`); PARSE_ERROR when it is not one or is cut short. */
export function parseIvf(buf: Buffer): IvfFile {
  const fail = (what: string, at: number) => new CallpeerError('PARSE_ERROR', `IVF: ${what} at offset ${at}`);
  if (buf.length < IVF_HEADER_BYTES || buf.toString('latin1', 0, 4) !== 'DKIF') throw fail('no DKIF signature', 0);
  const headerSize = buf.readUInt16LE(6);
  if (headerSize < IVF_HEADER_BYTES || headerSize > buf.length) throw fail(`header size ${headerSize}`, 6);
  const file: IvfFile = {
    fourcc: buf.toString('latin1', 8, 12), width: buf.readUInt16LE(12), height: buf.readUInt16LE(14),
    rate: buf.readUInt32LE(16), scale: buf.readUInt32LE(20), frames: [],
  };
  let at = headerSize;
  while (at < buf.length) {
    if (at + IVF_FRAME_HEADER_BYTES > buf.length) throw fail('frame header cut short', at);
    const size = buf.readUInt32LE(at);
    const start = at + IVF_FRAME_HEADER_BYTES;
    if (start + size > buf.length) throw fail(`frame of ${size} bytes past the end`, at);
    file.frames.push({ pts: Number(buf.readBigUInt64LE(at + 4)), data: buf.subarray(start, start + size) });
    at = start + size;
  }
  return file;
}
