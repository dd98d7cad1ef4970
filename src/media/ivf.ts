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
