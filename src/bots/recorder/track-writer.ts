/**
 * One Ogg Opus file per participant track, written as it records: the Opus packets go in
 * as they came (no re-encoding), each with its timeline position (plus the pre-skip) as
 * granule. Pages go out when they hold 1 s of audio and on
 * flush() (the recorder calls it every 500 ms), with plain synchronous writes: after a
 * SIGKILL the kernel still has every page written, so the file plays up to about then.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { CallpeerError } from '../../errors.js';
import { OggOpusWriter } from '../../media/ogg-opus.js';
import { SILENCE_FRAMES } from '../../media/opus-packet.js';
import type { TimelineFrame } from './track-timeline.js';

/**
 * Pre-skip (48 kHz samples): one 20 ms silence frame written first and skipped by players, so
 * playback time 0 is still the session start. Players warn about a pre-skip of 0.
 */
const PRE_SKIP = 960;

/** A file-system error as IO_ERROR, with a plain message for the usual causes. */
export function fileError(err: unknown, path: string, doing: string): CallpeerError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new CallpeerError('IO_ERROR', `disk full while ${doing} ${path}`, { cause: err, hint: 'free some space or record to another disk with --out' });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOTDIR' || code === 'ENOENT') {
    return new CallpeerError('IO_ERROR', `cannot write ${path} (${code})`, { cause: err, hint: 'choose a writable directory with --out' });
  }
  return new CallpeerError('IO_ERROR', `${doing} ${path} failed: ${(err as Error).message}`, { cause: err });
}

/** True for an IO_ERROR caused by a full disk. */
export function isDiskFull(err: unknown): boolean {
  const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
  return err instanceof CallpeerError && err.code === 'IO_ERROR' && (cause?.code === 'ENOSPC' || cause?.code === 'EDQUOT');
}

export interface TrackWriterOptions {
  /** TITLE comment (the participant's name). */
  title?: string;
  /** More "KEY=value" comments. */
  comments?: string[];
}

export class TrackWriter {
  private readonly ogg: OggOpusWriter;
  private fd: number | undefined;
  /** Bytes written to the file. */
  bytes = 0;

  /** Creates (or truncates) the file and writes the two header pages. Throws IO_ERROR. */
  constructor(readonly path: string, options: TrackWriterOptions = {}) {
    const comments = [...(options.title !== undefined ? [`TITLE=${options.title}`] : []), ...(options.comments ?? [])];
    this.ogg = new OggOpusWriter({ preSkip: PRE_SKIP, pageDurationMs: 1000, comments, vendor: 'callpeer recorder' });
    try {
      this.fd = openSync(path, 'w');
    } catch (err) {
      throw fileError(err, path, 'creating');
    }
    this.out(this.ogg.start());
    this.out(this.ogg.write(SILENCE_FRAMES[0]![1], PRE_SKIP));
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  write(frame: TimelineFrame): void {
    if (this.fd === undefined) return;
    this.out(this.ogg.write(frame.data, frame.end + PRE_SKIP));
  }

  /** Writes the page of packets waiting, if any. */
  flush(): void {
    if (this.fd !== undefined) this.out(this.ogg.flush());
  }

  /** The last page (EOS), then closes the file. Idempotent; IO_ERROR if the last write fails (the file is closed anyway). */
  close(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    try {
      this.out(this.ogg.close());
    } finally {
      this.fd = undefined;
      closeSync(fd);
    }
  }

  private out(bytes: Buffer): void {
    if (bytes.length === 0 || this.fd === undefined) return;
    try {
      let at = 0;
      while (at < bytes.length) at += writeSync(this.fd, bytes, at);
    } catch (err) {
      // A page half written (disk full) would end the file in garbage: cut it back to the last whole page.
      try { ftruncateSync(this.fd, this.bytes); } catch { /* the file keeps its tail; readers skip it */ }
      throw fileError(err, this.path, 'writing');
    }
    this.bytes += bytes.length;
  }
}
