/**
 * A raw H.264 file (`.h264`: the Annex B byte stream ffmpeg and ffprobe read as `h264`), each
 * access unit appended as it comes with one synchronous write, so a crash leaves whole frames
 * up to about then. The format has no header and no timestamps: a player takes the frame
 * rate from the SPS's timing info when the encoder put one there, else its own default
 * (ffmpeg: 25 fps; `-framerate N` before `-i` sets it). Where the frames sit on the session
 * timeline is in the manifest (offsetMs, durationMs, frames written).
 */
import { closeSync } from 'node:fs';
import { createFile, writeAll } from './ivf-writer.js';

export class AnnexBWriter {
  private fd: number | undefined;
  private frames = 0;

  /** Creates (or truncates) the file. Throws IO_ERROR. */
  constructor(readonly path: string) {
    this.fd = createFile(path);
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  get frameCount(): number {
    return this.frames;
  }

  /** Appends one access unit (Annex B, start codes included); the format keeps no time, so `pts` is not written. */
  writeFrame(frame: Uint8Array, _pts: number): void {
    if (this.fd === undefined) return;
    writeAll(this.fd, frame, this.path);
    this.frames++;
  }

  /** Nothing waits: every frame is written as it comes. */
  flush(): void {}

  close(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined;
    closeSync(fd);
  }
}
