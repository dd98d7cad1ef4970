/**
 * An IVF file (media/ivf.ts) written as frames come: each frame appended with one synchronous
 * write, so a crash leaves whole frames up to about then. The header's size and frame count
 * are patched in place when known and on every flush().
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { IVF_RATE, ivfFrameHeader, ivfHeader } from '../../media/ivf.js';
import { fileError } from './track-writer.js';

export class IvfWriter {
  private fd: number | undefined;
  private width = 0;
  private height = 0;
  private frames = 0;
  private headerFrames = 0;

  /** Creates (or truncates) the file with a header of unknown size. Throws IO_ERROR. */
  constructor(readonly path: string) {
    this.fd = createFile(path);
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
    writeAll(this.fd!, bytes, this.path, position);
  }
}

/** Creates (or truncates) a file for writing; IO_ERROR when it cannot. */
export function createFile(path: string): number {
  try {
    return openSync(path, 'w');
  } catch (err) {
    throw fileError(err, path, 'creating');
  }
}

/** Writes all of `bytes` at the file's offset (or at `position`), however many writes it takes; IO_ERROR on failure. */
export function writeAll(fd: number, bytes: Uint8Array, path: string, position?: number): void {
  try {
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at, position === undefined ? null : position + at);
  } catch (err) {
    throw fileError(err, path, 'writing');
  }
}
