/**
 * `callpeer record --repair DIR`: finishes what a recorder that died mid-session left (kill -9,
 * a power cut). Pages and frames go out as they are recorded, so its files play up to about
 * the crash; what they lack is an end. Each file the manifest still calls `recording` is cut
 * after its last whole page (Ogg Opus: the CRC of each page checked) or frame (IVF), and
 * given its end: an end-of-stream page, the IVF frame count. Its duration is read back from
 * what is there, and the manifest is finished as a stop would have: status `complete`,
 * `endedAt`, `durationMs`, everyone still present marked as left at the end, plus
 * `repairedAt`. Files already complete are left alone; repairing twice changes nothing.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { CallpeerError } from '../../errors.js';
import { IVF_FRAME_HEADER_BYTES, IVF_HEADER_BYTES, IVF_RATE } from '../../media/ivf.js';
import { OGG_EOS, oggCrc, scanOggPages } from '../../media/ogg.js';
import { parseOpusHead } from '../../media/ogg-opus.js';
import { MANIFEST_NAME, writeJsonAtomic, type Manifest, type ManifestFile } from './manifest.js';

export interface RepairedFile {
  file: string;
  /** `repaired`: it was still recording and now has an end; `complete`: it had one already. */
  outcome: 'repaired' | 'complete';
  durationMs: number;
  /** Bytes cut from its end (a page or frame the crash left half written). */
  cutBytes: number;
}

export interface RepairReport {
  dir: string;
  /** The manifest was complete already: nothing was touched. */
  alreadyComplete: boolean;
  files: RepairedFile[];
}

function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST_NAME);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CallpeerError('IO_ERROR', `no recording to repair in ${dir}: cannot read ${MANIFEST_NAME}`, { cause: err, hint: 'give the directory a recording was written to (the one holding manifest.json)' });
  }
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (err) {
    throw new CallpeerError('PARSE_ERROR', `${file} is not JSON`, { cause: err, hint: 'the manifest is written atomically; a broken one was not written by callpeer record' });
  }
  if (m?.version !== 1 || !Array.isArray(m.files) || !Array.isArray(m.participants)) {
    throw new CallpeerError('PARSE_ERROR', `${file} is not a callpeer recording manifest (version 1)`);
  }
  return m;
}

/** A copy of a whole Ogg page with its EOS flag set and its CRC made again. */
function withEos(page: Uint8Array): Buffer {
  const out = Buffer.from(page);
  out[5] = out[5]! | OGG_EOS;
  out.writeUInt32LE(0, 22);
  out.writeUInt32LE(oggCrc(out), 22);
  return out;
}

/** Cuts an Ogg Opus file after its last whole page and ends it; returns its length, ms, and the bytes cut. */
function repairOggOpus(file: string): { durationMs: number; cutBytes: number } {
  const bytes = readFileSync(file);
  const pages = scanOggPages(bytes);
  const first = pages[0];
  if (!first) throw new CallpeerError('PARSE_ERROR', `${file}: no whole Ogg page at offset 0`);
  const head = parseOpusHead(bytes.subarray(first.offset + 27 + bytes[first.offset + 26]!, first.offset + first.length));
  const last = pages.at(-1)!;
  const granule = [...pages].reverse().find((p) => p.granule >= 0n)?.granule ?? 0n;
  const end = last.offset + last.length;
  const fd = openSync(file, 'r+');
  try {
    ftruncateSync(fd, end);
    // The last page becomes the end of the stream, as a writer's final flush marks it (players
    // take an empty EOS page after it as end trimming).
    if ((last.flags & OGG_EOS) === 0) writeSync(fd, withEos(bytes.subarray(last.offset, end)), 0, undefined, last.offset);
  } finally {
    closeSync(fd);
  }
  return { durationMs: Math.max(0, Math.round(Number(granule - BigInt(head.preSkip)) / 48)), cutBytes: bytes.length - end };
}

/** Cuts an IVF file after its last whole frame and sets its frame count; returns its last frame's time, ms, and the bytes cut. */
function repairIvf(file: string): { durationMs: number; cutBytes: number } {
  const bytes = readFileSync(file);
  if (bytes.length < IVF_HEADER_BYTES || bytes.toString('latin1', 0, 4) !== 'DKIF') throw new CallpeerError('PARSE_ERROR', `${file}: no IVF header at offset 0`);
  let at = bytes.readUInt16LE(6);
  let frames = 0;
  let lastPts = 0;
  while (at + IVF_FRAME_HEADER_BYTES <= bytes.length) {
    const size = bytes.readUInt32LE(at);
    if (at + IVF_FRAME_HEADER_BYTES + size > bytes.length) break;
    lastPts = Number(bytes.readBigUInt64LE(at + 4));
    at += IVF_FRAME_HEADER_BYTES + size;
    frames++;
  }
  const count = Buffer.alloc(4);
  count.writeUInt32LE(frames);
  const fd = openSync(file, 'r+');
  try {
    ftruncateSync(fd, at);
    writeSync(fd, count, 0, 4, 24);
  } finally {
    closeSync(fd);
  }
  return { durationMs: Math.round(lastPts / (IVF_RATE / 1000)), cutBytes: bytes.length - at };
}

function repairFile(dir: string, f: ManifestFile): { durationMs: number; cutBytes: number } {
  const file = path.join(dir, f.file);
  if (f.codec === 'opus') return repairOggOpus(file);
  if (f.codec === 'vp8') return repairIvf(file);
  // A raw H.264 stream has no container to end; its time stays what the manifest last said.
  return { durationMs: f.durationMs, cutBytes: 0 };
}

/** Repairs the recording in `dir` (see the module comment). Throws IO_ERROR or PARSE_ERROR with a hint. */
export function repairRecording(dir: string, now: Date = new Date()): RepairReport {
  const m = readManifest(dir);
  if (m.status === 'complete') {
    return { dir, alreadyComplete: true, files: m.files.map((f) => ({ file: f.file, outcome: 'complete', durationMs: f.durationMs, cutBytes: 0 })) };
  }
  const files: RepairedFile[] = [];
  for (const f of m.files) {
    if (f.status !== 'recording') {
      files.push({ file: f.file, outcome: 'complete', durationMs: f.durationMs, cutBytes: 0 });
      continue;
    }
    const { durationMs, cutBytes } = repairFile(dir, f);
    f.durationMs = durationMs;
    f.status = 'complete';
    files.push({ file: f.file, outcome: 'repaired', durationMs, cutBytes });
  }
  const durationMs = Math.max(m.durationMs, ...m.files.map((f) => f.durationMs));
  const endedAt = new Date(Date.parse(m.startedAt) + durationMs).toISOString();
  m.durationMs = durationMs;
  m.endedAt = endedAt;
  for (const p of m.participants) {
    if (p.leftMs === undefined) {
      p.leftMs = durationMs;
      p.leftAt = endedAt;
    }
  }
  const lastConnection = m.connections.at(-1);
  if (lastConnection && lastConnection.lostMs === undefined) {
    lastConnection.lostMs = durationMs;
    lastConnection.lostAt = endedAt;
  }
  if (m.status === 'recording') m.status = 'complete';
  m.repairedAt = now.toISOString();
  writeJsonAtomic(path.join(dir, MANIFEST_NAME), m);
  return { dir, alreadyComplete: false, files };
}
