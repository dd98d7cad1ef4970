/**
 * manifest.json of a recording session: the room, the wall-clock start, who was there when,
 * each file with where its media starts and how long it runs, and packet counts. Written at
 * the start and again whenever something changes, atomically (a temp file renamed over the
 * old one), so a crash never leaves half a manifest.
 *
 * Times: `*At` are ISO wall-clock strings; `*Ms` are milliseconds from `startedAt`. Every
 * audio file starts at `startedAt` (leading silence up to `offsetMs`), so files line up.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Participant, Topology } from '../../protocol/signaling.js';
import { fileError } from './track-writer.js';

export const MANIFEST_NAME = 'manifest.json';

export interface PacketCounts {
  received: number;
  lost: number;
  late: number;
  duplicates: number;
}

export interface ManifestFile {
  /** File name, relative to the manifest's directory. */
  file: string;
  kind: 'audio' | 'video';
  /** `h264`: a raw Annex B `.h264` file (no timestamps inside: offsetMs/durationMs place it). */
  codec: 'opus' | 'vp8' | 'h264';
  participantId: string;
  name: string;
  /** The participant's track (SDP mid). */
  mid: string;
  /** Where the participant's first media sits, ms from the session start. */
  offsetMs: number;
  /** Length of the file, ms from the session start (video: to its last frame). */
  durationMs: number;
  packets: PacketCounts;
  /** Video: frames written, and dropped (a packet missing, or waiting for the next key frame). */
  frames?: { written: number; dropped: number };
  /** `recording` while open; `complete` once finalized; `failed` when a write failed. */
  status: 'recording' | 'complete' | 'failed';
}

export interface ManifestParticipant {
  id: string;
  name: string;
  role: string;
  joinedAt: string;
  joinedMs: number;
  leftAt?: string;
  leftMs?: number;
}

/** One stay of the recorder in the room (a reconnect starts another, with a new id). */
export interface ManifestConnection {
  id: string;
  joinedAt: string;
  joinedMs: number;
  lostAt?: string;
  lostMs?: number;
}

export interface Manifest {
  version: 1;
  room: string;
  server: string;
  startedAt: string;
  endedAt?: string;
  durationMs: number;
  status: 'recording' | 'complete' | 'failed';
  error?: string;
  /** When `callpeer record --repair` finished a recording its recorder left unfinished. */
  repairedAt?: string;
  /** The room's topology, known at the join; `whep` for a WHEP stream recorded (`record --whep`). */
  topology?: Topology | 'whep';
  /** Whether cameras and screens are recorded (not with --no-video). */
  video?: boolean;
  sampleRate: 48000;
  connections: ManifestConnection[];
  participants: ManifestParticipant[];
  files: ManifestFile[];
  mix?: { file: string; status: 'complete' | 'failed' };
}

/** Writes `data` as JSON to `file` through a temp file and a rename. Throws IO_ERROR. */
export function writeJsonAtomic(file: string, data: unknown): void {
  const tmp = `${file}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true }); // the last complete manifest stays in place
    throw fileError(err, file, 'writing');
  }
}

/** The manifest of one session and its file. Mutators mark it dirty; write() saves it. */
export class ManifestStore {
  readonly manifest: Manifest;
  readonly path: string;
  private readonly startEpochMs: number;
  private dirty = true;

  /** `startEpochMs`: the session start, ms since the epoch (every `*Ms` counts from it). */
  constructor(dir: string, init: { room: string; server: string; startEpochMs: number }) {
    this.startEpochMs = init.startEpochMs;
    this.path = path.join(dir, MANIFEST_NAME);
    this.manifest = {
      version: 1, room: init.room, server: init.server, startedAt: this.iso(0), durationMs: 0, status: 'recording',
      sampleRate: 48000, connections: [], participants: [], files: [],
    };
  }

  get isDirty(): boolean {
    return this.dirty;
  }

  /** What the join told about the room, and whether its video is recorded. */
  room(topology: Topology | 'whep', video: boolean): void {
    Object.assign(this.manifest, { topology, video });
    this.dirty = true;
  }

  connected(id: string, atMs: number): void {
    this.manifest.connections.push({ id, joinedAt: this.iso(atMs), joinedMs: round(atMs) });
    this.touch(atMs);
  }

  connectionLost(atMs: number): void {
    const c = this.manifest.connections.at(-1);
    if (c && c.lostMs === undefined) Object.assign(c, { lostAt: this.iso(atMs), lostMs: round(atMs) });
    this.touch(atMs);
  }

  participantJoined(p: Participant, atMs: number): void {
    if (this.manifest.participants.some((q) => q.id === p.id)) return;
    this.manifest.participants.push({ id: p.id, name: p.name, role: p.role, joinedAt: this.iso(atMs), joinedMs: round(atMs) });
    this.touch(atMs);
  }

  /** Marks `id` gone (left, or everyone at once when our connection dropped). */
  participantLeft(id: string, atMs: number): void {
    const p = this.manifest.participants.find((q) => q.id === id);
    if (!p || p.leftMs !== undefined) return;
    Object.assign(p, { leftAt: this.iso(atMs), leftMs: round(atMs) });
    this.touch(atMs);
  }

  /** Adds a file entry; the caller keeps it and updates it through update(). */
  addFile(entry: ManifestFile, atMs: number): ManifestFile {
    this.manifest.files.push(entry);
    this.touch(atMs);
    return entry;
  }

  /** Changes a file entry (duration, counts, status). */
  update(entry: ManifestFile, change: Partial<ManifestFile>, atMs: number): void {
    Object.assign(entry, change);
    this.touch(atMs);
  }

  finish(atMs: number, error?: string): void {
    Object.assign(this.manifest, { endedAt: this.iso(atMs), status: error === undefined ? 'complete' : 'failed' });
    if (error !== undefined) this.manifest.error = error;
    this.touch(atMs);
  }

  setMix(mix: Manifest['mix']): void {
    this.manifest.mix = mix;
    this.dirty = true;
  }

  /** Saves if changed (or always with `force`). Throws IO_ERROR. */
  write(force = false): void {
    if (!this.dirty && !force) return;
    writeJsonAtomic(this.path, this.manifest);
    this.dirty = false;
  }

  private touch(atMs: number): void {
    this.manifest.durationMs = Math.max(this.manifest.durationMs, round(atMs));
    this.dirty = true;
  }

  private iso(atMs: number): string {
    return new Date(this.startEpochMs + atMs).toISOString();
  }
}

function round(ms: number): number {
  return Math.round(ms);
}
