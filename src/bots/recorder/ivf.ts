/**
 * IVF, the plain container for VP8 frames, written as frames come (each appended with one
 * synchronous write, so a crash leaves whole frames up to about then). The header's size and
 * frame count are patched in place when known and every flush().
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
import { closeSync, openSync, writeSync } from 'node:fs';
import { fileError } from './track-writer.js';

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

export class IvfWriter {
  private fd: number | undefined;
  private width = 0;
  private height = 0;
  private frames = 0;
  private headerFrames = 0;

  /** Creates (or truncates) the file with a header of unknown size. Throws IO_ERROR. */
  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch (err) {
      throw fileError(err, path, 'creating');
    }
    this.write(this.header()); // appended: a positioned write would leave the file offset at 0
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  get frameCount(): number {
    return this.frames;
  }

  /** Appends one frame at `pts` (1/90000 s); a key frame's size goes into the header once known. */
  writeFrame(frame: Uint8Array, pts: number, size?: { width: number; height: number }): void {
    if (this.fd === undefined) return;
    this.write(Buffer.concat([ivfFrameHeader(frame.length, pts), frame]));
    this.frames++;
    if (size && (size.width !== this.width || size.height !== this.height)) {
      this.width = size.width;
      this.height = size.height;
      this.flush();
    }
  }

  /** Patches the header (size, frame count). */
  flush(): void {
    if (this.fd === undefined || this.headerFrames === this.frames) return;
    this.headerFrames = this.frames;
    this.write(this.header(), 0);
  }

  close(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    try {
      this.headerFrames = -1;
      this.flush();
    } finally {
      this.fd = undefined;
      closeSync(fd);
    }
  }

  private header(): Buffer {
    return ivfHeader({ width: this.width, height: this.height, rate: IVF_RATE, scale: 1, frames: this.frames });
  }

  private write(bytes: Buffer, position?: number): void {
    try {
      let at = 0;
      while (at < bytes.length) at += writeSync(this.fd!, bytes, at, bytes.length - at, position === undefined ? null : position + at);
    } catch (err) {
      throw fileError(err, this.path, 'writing');
    }
  }
}
