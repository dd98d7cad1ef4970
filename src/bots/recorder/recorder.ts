/**
 * The recorder: a room member (role `recorder`) that writes each participant track it
 * receives to its own Ogg Opus file, without re-encoding, on one timeline: every file starts
 * at the session start and keeps wall-clock time (TrackTimeline), so files line up. A file
 * opens at a track's first packet and is finalized when that participant's connection closes
 * (left, or our signaling reconnected: the new connection records into new files). Pages go
 * to disk every 500 ms; manifest.json follows every change.
 *
 * Either topology: in a mesh room each participant sends us its tracks (audio, and VP8 or
 * H264 video when asked: IVF and raw Annex B files); in an SFU room the server forwards each publisher's microphone, camera and
 * screen on tracks of their own, named by the publisher (a simulcast camera at its highest
 * layer: the server's `auto`, which steps down only while that layer stops).
 *
 * Or a WHEP stream (`whepUrl`): any WHEP endpoint, callpeer's `/whep/<room>` among them; its
 * audio and video go to the same files, as one participant named after the stream.
 *
 * Usable as a library: `await new Recorder({ wsUrl, room, outDir }).start()`, later `stop()`.
 */
import { EventEmitter } from 'node:events';
import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AgentOptions } from '../../client/agent-options.js';
import type { RemoteTrack } from '../../client/agent-events.js';
import { joinRoom, type RoomAgent } from '../../client/room-agent.js';
import { WhepClient } from '../../client/whep-client.js';
import { CallpeerError, toCallpeerError } from '../../errors.js';
import { safeEmit, silentLogger, type Logger } from '../../log.js';
import type { JoinedMessage, Participant, RemovedByServer } from '../../protocol/signaling.js';
import { ManifestStore, type Manifest, type ManifestFile } from './manifest.js';
import { mixOggOpusFiles } from './mixer.js';
import { AnnexBWriter } from './annexb-writer.js';
import { IvfWriter } from './ivf-writer.js';
import { TrackRecorder } from './track-recorder.js';
import type { TimelineOptions } from './track-timeline.js';
import { fileError, TrackWriter } from './track-writer.js';
import { VideoTrackRecorder, type RecordedVideoCodec, type VideoFileWriter } from './video-recorder.js';

export interface RecorderOptions extends Omit<AgentOptions, 'role' | 'log' | 'audio' | 'wsUrl' | 'room'> {
  /** The room to join: signaling endpoint and room name (see AgentOptions). */
  wsUrl?: string;
  room?: string;
  /** Instead of a room: a WHEP endpoint to record (`token` goes as its bearer token). */
  whepUrl?: string;
  /** Directory for the files and manifest.json (created if missing). */
  outDir: string;
  /** Also write a mixed WAV of everyone there when stopping (a path). */
  mixPath?: string;
  log?: Logger;
  /** Timeline tuning (reordering window, lag); the session start is the recorder's. */
  timeline?: Omit<TimelineOptions, 'startMs'>;
  /** Test hook: audio packets for which this returns true are dropped before recording (simulated loss). */
  dropPacket?: (index: number) => boolean;
  /** Record video (default true): VP8 into IVF files, H264 into raw `.h264` (Annex B) files. */
  video?: boolean;
}

/** A WHEP stream's name for files and the manifest: the last segment of its URL's path. */
export function streamName(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).at(-1) ?? '') || 'stream';
  } catch {
    return 'stream';
  }
}

/** Listeners are user code: one that throws is logged and changes nothing in the recording. */
export interface RecorderEvents {
  joined: [JoinedMessage];
  'participant-joined': [Participant];
  'participant-left': [Participant];
  /** A track's first packet arrived: its file is open. */
  'file-opened': [ManifestFile];
  'file-closed': [ManifestFile];
  disconnected: [{ code: number; reason: string }];
  /** Recording cannot go on (a write failed: disk full…). Call stop(). */
  failed: [CallpeerError];
  /** The connection closed for good (could not re-join). */
  closed: [];
  /** Kicked, or the room was deleted: the recording ends (stop() finalizes it); closed follows. */
  removed: [RemovedByServer];
}

/** One participant track being recorded, and its manifest entry once its file is open. */
interface Recording {
  source: RemoteTrack;
  recorder: TrackRecorder | VideoTrackRecorder;
  entry: ManifestFile | undefined;
}

const TICK_MS = 250;
/** Pages go to disk every 500 ms, so a crash loses well under a second; the manifest every 1 s. */
const PAGE_TICKS = 2;
const MANIFEST_TICKS = 4;

export class Recorder extends EventEmitter<RecorderEvents> {
  private roomAgent: RoomAgent | undefined;
  private whep: WhepClient | undefined;
  readonly outDir: string;
  private readonly log: Logger;
  private readonly recordings = new Map<RemoteTrack, Recording>();
  /** Session start on performance.now()'s clock, ms: position 0 of every file (the Recorder's creation; start() at once). */
  readonly startMs = performance.now();
  private readonly store: ManifestStore;
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;
  private fileCount = 0;
  private failure: CallpeerError | undefined;
  private stopping: Promise<Manifest> | undefined;
  /** The output directory was checked and the first manifest written. */
  private outputReady = false;
  private readonly video: boolean;

  constructor(private readonly options: RecorderOptions) {
    super();
    this.log = options.log ?? silentLogger();
    this.outDir = path.resolve(options.outDir);
    if (options.whepUrl === undefined && (options.wsUrl === undefined || options.room === undefined)) {
      throw new CallpeerError('INVALID_CONFIG', 'the recorder needs a room (wsUrl and room) or a WHEP endpoint (whepUrl)');
    }
    const server = options.whepUrl ?? options.wsUrl!;
    this.store = new ManifestStore(this.outDir, { room: options.room ?? streamName(server), server, startEpochMs: Date.now() });
    this.video = options.video ?? true;
  }

  /** The room member underneath (a MeshAgent or an SfuAgent, as the room is); throws NOT_IN_ROOM before start(). */
  get agent(): RoomAgent {
    if (!this.roomAgent) throw new CallpeerError('NOT_IN_ROOM', 'the recorder has not joined yet', { hint: 'await recorder.start() first' });
    return this.roomAgent;
  }

  /** The manifest as it stands. */
  get manifest(): Manifest {
    return this.store.manifest;
  }

  /** Checks the output directory, writes the first manifest, joins. Throws IO_ERROR, or the join's code. */
  async start(): Promise<JoinedMessage> {
    try {
      mkdirSync(this.outDir, { recursive: true });
      accessSync(this.outDir, constants.W_OK);
    } catch (err) {
      this.failure = fileError(err, this.outDir, 'creating');
      throw this.failure;
    }
    this.outputReady = true;
    this.store.write(true);
    if (this.options.whepUrl !== undefined) return this.startWhep(this.options.whepUrl);
    let joined: JoinedMessage;
    try {
      const o = this.options;
      ({ agent: this.roomAgent, joined } = await joinRoom({
        ...o,
        wsUrl: o.wsUrl!,
        room: o.room!,
        role: 'recorder',
        name: o.name ?? 'callpeer recorder',
        audio: false,
        log: this.log,
        peer: { ...o.peer, capabilities: { ...o.peer?.capabilities, receiveVideo: this.video, videoCodecs: ['VP8', 'H264'] } },
      }, (a) => this.wire(a)));
    } catch (err) {
      this.failure = toCallpeerError(err); // the manifest says why; stop() rethrows it
      throw err;
    }
    if (this.stopping) {
      await this.roomAgent.close();
      throw new CallpeerError('CLOSED', 'the recorder was stopped while joining');
    }
    this.timer = setInterval(() => this.tick(), TICK_MS);
    return joined;
  }

  /**
   * Records a WHEP stream: its sections are one participant's (named after the stream), a
   * file each from the first packet; the connection closing ends them (`closed`). Resolves
   * once connected, with `joined` as a room would say it (the stream's one participant).
   */
  private async startWhep(url: string): Promise<JoinedMessage> {
    const o = this.options;
    const client = (this.whep = new WhepClient({
      url, video: this.video, ...(o.peer && { peer: o.peer }),
      ...(o.token !== undefined && { token: o.token }),
    }));
    const participant: Participant = {
      id: 'whep', name: new URL(url).searchParams.get('publisher') ?? streamName(url), role: 'participant', audio: true, video: this.video, screen: false, metadata: {},
    };
    const link = { peer: client.peer, participant: undefined };
    const sources: RemoteTrack[] = [];
    client.peer.on('track', (track) => {
      const source: RemoteTrack = { participant, kind: track.kind, track, id: `whep-${track.kind === 'audio' ? 'microphone' : 'camera'}`, link };
      sources.push(source);
      this.onTrack(source);
    });
    try {
      await client.start();
    } catch (err) {
      this.failure = toCallpeerError(err);
      throw err;
    }
    const joined: JoinedMessage = { type: 'joined', id: 'whep', room: { id: this.store.manifest.room, topology: 'sfu', maxMembers: 0 }, participants: [participant], iceServers: [] };
    const at = this.now();
    this.store.room('whep', this.video);
    this.store.connected('whep', at);
    this.store.participantJoined(participant, at);
    this.writeManifest();
    client.peer.once('closed', () => {
      for (const source of sources) {
        const r = this.recordings.get(source);
        if (r) this.finalize(r);
      }
      this.store.connectionLost(this.now());
      this.notify('closed');
    });
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.notify('joined', joined);
    return joined;
  }

  /**
   * Leaves the room, finalizes every file (EOS page), writes the mix if asked and the final
   * manifest. Idempotent. Resolves with the manifest; a failed final write rejects (IO_ERROR).
   */
  stop(): Promise<Manifest> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<Manifest> {
    clearInterval(this.timer);
    await this.roomAgent?.close();
    await this.whep?.stop();
    if (!this.outputReady) throw this.failure ?? new CallpeerError('CLOSED', 'stopped before it started');
    for (const r of [...this.recordings.values()]) this.finalize(r);
    this.store.finish(this.now(), this.failure?.message);
    this.writeManifest();
    const mix = this.options.mixPath;
    if (mix !== undefined && !this.failure) {
      const inputs = this.store.manifest.files.filter((f) => f.kind === 'audio').map((f) => path.join(this.outDir, f.file));
      try {
        mixOggOpusFiles(inputs, mix);
        this.store.setMix({ file: path.resolve(mix), status: 'complete' });
      } catch (err) {
        this.store.setMix({ file: path.resolve(mix), status: 'failed' });
        this.fail(err);
      }
      this.writeManifest();
    }
    if (this.failure) throw this.failure;
    return this.store.manifest;
  }

  private now(): number {
    return performance.now() - this.startMs;
  }

  /**
   * Listens to the agent before it connects. A file per remote track, finalized when the track
   * ends (its connection closed, the participant left, or a new track of theirs replaced it).
   * Video is asked for by `capabilities.receiveVideo` (see start()).
   */
  private wire(a: RoomAgent): void {
    a.on('joined', (j) => this.onJoined(j));
    a.on('participant-joined', (p) => {
      this.store.participantJoined(p, this.now());
      this.notify('participant-joined', p);
    });
    a.on('participant-left', (p) => {
      this.store.participantLeft(p.id, this.now());
      this.notify('participant-left', p);
    });
    a.on('disconnected', (d) => {
      this.store.connectionLost(this.now());
      this.notify('disconnected', d);
    });
    a.on('removed', (r) => this.notify('removed', r));
    a.on('closed', () => this.notify('closed'));
    a.on('track-added', (t) => this.onTrack(t));
    a.on('track-removed', (t) => {
      const r = this.recordings.get(t);
      if (r) this.finalize(r);
    });
  }

  private onJoined(j: JoinedMessage): void {
    const at = this.now();
    this.store.room(j.room.topology, this.video);
    // After a re-join, whoever is not listed any more left while we were away.
    const present = new Set(j.participants.map((p) => p.id));
    for (const p of this.store.manifest.participants) if (!present.has(p.id)) this.store.participantLeft(p.id, at);
    this.store.connected(j.id, at);
    for (const p of j.participants) this.store.participantJoined(p, at);
    this.writeManifest();
    this.notify('joined', j);
  }

  private onTrack(source: RemoteTrack): void {
    const { participant, track } = source;
    const codec = track.codec?.name.toLowerCase();
    if (track.kind === 'video' && (codec === 'vp8' || codec === 'h264') && this.video) {
      const rec: Recording = {
        source,
        entry: undefined,
        recorder: new VideoTrackRecorder(track, {
          codec, startMs: this.startMs, open: () => this.openVideo(rec, codec), onError: (err) => this.fail(err), logger: this.log,
        }),
      };
      this.recordings.set(source, rec);
      return;
    }
    if (track.kind !== 'audio' || codec !== 'opus') {
      this.log.info({ peer: participant.id, kind: track.kind, codec: track.codec?.name }, 'track not recorded');
      return;
    }
    const rec: Recording = {
      source,
      entry: undefined,
      recorder: new TrackRecorder(track, {
        startMs: this.startMs,
        open: () => this.open(rec),
        onError: (err) => this.fail(err),
        logger: this.log,
        ...(this.options.timeline && { timeline: this.options.timeline }),
        ...(this.options.dropPacket && { dropPacket: this.options.dropPacket }),
      }),
    };
    this.recordings.set(source, rec);
  }

  /** Opens the file for an audio track at its first packet. */
  private open(rec: Recording): TrackWriter {
    const p = rec.source.participant;
    const file = this.fileName(p.name, 'audio.opus');
    const writer = new TrackWriter(path.join(this.outDir, file), { title: p.name, comments: [`CALLPEER_PARTICIPANT=${p.id}`, `CALLPEER_SESSION_START=${this.store.manifest.startedAt}`] });
    this.listFile(rec, file, 'audio', 'opus');
    return writer;
  }

  /**
   * Opens the file for a video track at its first key frame: `…-video` in a mesh room,
   * `…-camera` / `…-screen` in an SFU room (whose track ids name the source); `.ivf` for VP8,
   * `.h264` (Annex B) for H264.
   */
  private openVideo(rec: Recording, codec: RecordedVideoCodec): VideoFileWriter {
    const source = rec.source.id?.endsWith('-screen') ? 'screen' : rec.source.id?.endsWith('-camera') ? 'camera' : 'video';
    const file = this.fileName(rec.source.participant.name, `${source}.${codec === 'h264' ? 'h264' : 'ivf'}`);
    const full = path.join(this.outDir, file);
    const writer = codec === 'h264' ? new AnnexBWriter(full) : new IvfWriter(full);
    this.listFile(rec, file, 'video', codec);
    return writer;
  }

  /** `NN-name-suffix`: numbered in opening order, the name made safe for any file system. */
  private fileName(name: string, suffix: string): string {
    const base = name.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40) || 'participant';
    return `${String(++this.fileCount).padStart(2, '0')}-${base}-${suffix}`;
  }

  private listFile(rec: Recording, file: string, kind: ManifestFile['kind'], codec: ManifestFile['codec']): void {
    const p = rec.source.participant;
    rec.entry = this.store.addFile({
      file, kind, codec, participantId: p.id, name: p.name, mid: rec.recorder.track.mid,
      offsetMs: 0, durationMs: 0, packets: { received: 0, lost: 0, late: 0, duplicates: 0 }, status: 'recording',
    }, this.now());
    this.writeManifest();
    this.log.info({ file, peer: p.id }, 'recording track');
    this.notify('file-opened', rec.entry);
  }

  private tick(): void {
    const now = performance.now();
    this.ticks++;
    const pages = this.ticks % PAGE_TICKS === 0;
    const manifest = this.ticks % MANIFEST_TICKS === 0;
    try {
      for (const r of this.recordings.values()) {
        r.recorder.tick(now, pages);
        if (manifest) this.updateEntry(r, 'recording');
      }
      if (manifest) this.store.write();
    } catch (err) {
      this.fail(err);
    }
  }

  private updateEntry(r: Recording, status: ManifestFile['status']): void {
    const t = r.recorder;
    if (!r.entry || !t.started) return;
    const change: Partial<ManifestFile> = { offsetMs: t.offsetMs, durationMs: t.durationMs, packets: t.packetCounts(), status };
    if (t instanceof VideoTrackRecorder) change.frames = { written: t.stats.frames, dropped: t.stats.dropped };
    this.store.update(r.entry, change, this.now());
  }

  /** Ends a track's file: held packets, silence up to now (the file runs until the connection closed), EOS. Never throws. */
  private finalize(r: Recording): void {
    if (!this.recordings.delete(r.source)) return;
    let status: ManifestFile['status'] = 'complete';
    try {
      r.recorder.finish(performance.now());
    } catch (err) {
      status = 'failed';
      this.fail(err);
    }
    if (!r.entry) return;
    this.updateEntry(r, status);
    this.writeManifest();
    this.notify('file-closed', r.entry);
  }

  private writeManifest(): void {
    try {
      this.store.write();
    } catch (err) {
      this.fail(err);
    }
  }

  /** The first write error stops recording (the CLI then calls stop()); later ones are only logged. */
  private fail(err: unknown): void {
    const e = toCallpeerError(err, 'IO_ERROR');
    if (this.failure) {
      this.log.debug({ err: e }, 'recording error after failure');
      return;
    }
    this.failure = e;
    for (const r of this.recordings.values()) r.recorder.halt();
    // Info, not error: the `failed` listener (the CLI) reports it in plain words.
    this.log.info({ err: e }, 'recording failed');
    this.notify('failed', e);
  }

  /** Emits to user code: a listener that throws is logged, never taken for a recording error (IO_ERROR). */
  private notify<K extends keyof RecorderEvents & string>(event: K, ...args: RecorderEvents[K]): void {
    safeEmit<RecorderEvents, K>(this, this.log, event, ...args);
  }
}
