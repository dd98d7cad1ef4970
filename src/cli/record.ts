import type { Command } from 'commander';
import path from 'node:path';
import { MANIFEST_NAME } from '../bots/recorder/manifest.js';
import { Recorder, streamName } from '../bots/recorder/recorder.js';
import { repairRecording } from '../bots/recorder/repair.js';
import { isDiskFull } from '../bots/recorder/track-writer.js';
import { parseRoomUrl } from '../client/room-url.js';
import { CallpeerError, isCallpeerError } from '../errors.js';
import { createLogger } from '../log.js';
import type { RemovedByServer } from '../protocol/signaling.js';
import { cleanupRtc } from '../rtc/peer.js';
import { collect, ICE_TRANSPORT_POLICY_HELP, peerNetworkOptions, tokenOption } from './options.js';
import { parseSeconds, waitForStop } from './run.js';

interface RecordCliOptions {
  repair?: string;
  whep?: string;
  room?: string;
  out?: string;
  duration?: string;
  token?: string;
  mix?: string;
  video: boolean;
  name: string;
  iceServer?: string[];
  bind?: string;
  iceTransportPolicy?: string;
  insecure?: boolean;
  logLevel: string;
}

/** `2026-11-21T08-30-05Z`: a timestamp usable in a directory name. */
function stamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

/** The join errors users hit, in plain words. */
function explainJoinError(err: unknown, room: string): unknown {
  if (!isCallpeerError(err)) return err;
  if (err.code === 'ROOM_NOT_FOUND') return new CallpeerError('ROOM_NOT_FOUND', `room "${room}" does not exist on this server`, { cause: err, hint: 'check the room name, or create the room first' });
  if (err.code === 'UNAUTHORIZED') return new CallpeerError('UNAUTHORIZED', `the server refused to let the recorder into "${room}": ${err.message}`, { cause: err, hint: 'pass a valid --token (or CALLPEER_TOKEN) that grants the recorder role: callpeer token --role recorder' });
  return err;
}

/** `--whep URL`, checked: an http(s) URL. Returns the stream's name (for the default output directory). */
function whepTarget(url: string): { room: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CallpeerError('INVALID_CONFIG', `--whep ${url} is not a URL`, { hint: 'callpeer record --whep http://host:8080/whep/ROOM' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CallpeerError('INVALID_CONFIG', `--whep needs an http(s) URL, not ${parsed.protocol}`, { hint: 'callpeer record --whep http://host:8080/whep/ROOM' });
  return { room: streamName(url).replace(/[^A-Za-z0-9_-]+/g, '_') };
}

/** `--repair DIR`: one line per file, then one for the manifest. */
function repair(dir: string): void {
  const report = repairRecording(dir);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (report.alreadyComplete) {
    out(`nothing to repair: ${path.join(dir, MANIFEST_NAME)} says the recording is complete (${report.files.length} file${report.files.length === 1 ? '' : 's'})`);
    return;
  }
  for (const f of report.files) {
    out(f.outcome === 'repaired'
      ? `repaired ${f.file}: ${(f.durationMs / 1000).toFixed(1)} s${f.cutBytes > 0 ? `, ${f.cutBytes} bytes of a half-written end cut` : ''}`
      : `complete ${f.file}: ${(f.durationMs / 1000).toFixed(1)} s`);
  }
  out(`manifest ${path.join(dir, MANIFEST_NAME)} complete`);
}

export function registerRecord(program: Command): void {
  program
    .command('record')
    .description('join a call as a recorder: one time-aligned Ogg Opus file per participant (and one video file per camera: IVF for VP8, .h264 for H264), plus manifest.json')
    .argument('[room-url]', 'the call link (https://host/r/NAME), or ws(s)://host with --room')
    .option('--whep <url>', 'record a WHEP stream instead of joining a room: any WHEP endpoint (callpeer\'s is http://host/whep/ROOM; ?publisher=NAME picks whose tracks); --token goes as its bearer token')
    .option('--repair <dir>', 'finish a recording whose recorder was killed (kill -9, a power cut): end its files and complete its manifest; nothing is joined')
    .option('--room <name>', 'room name, when the URL is not a call link')
    .option('--out <dir>', 'output directory (default ./recordings/<room>-<timestamp>)')
    .option('--duration <seconds>', 'stop after this long (default: until Ctrl-C)')
    .option('--mix <file.wav>', 'also write a mix of everyone (48 kHz mono WAV) when stopping')
    .option('--no-video', 'audio only (default: cameras too, VP8 into IVF files, H264 into .h264 files)')
    .addOption(tokenOption())
    .option('--name <name>', 'display name in the call', 'callpeer recorder')
    .option('--ice-server <url>', 'extra STUN/TURN server, repeatable (the server\'s own are used too)', collect)
    .option('--bind <address>', 'local address for ICE candidates (e.g. 127.0.0.1)')
    .option('--ice-transport-policy <policy>', ICE_TRANSPORT_POLICY_HELP)
    .option('--insecure', 'accept a self-signed certificate on wss://')
    .option('--log-level <level>', 'log level for diagnostics on stderr', 'warn')
    .addHelpText('after', '\nExamples:\n  callpeer record http://localhost:8080/r/demo\n  callpeer record https://calls.example/r/standup --out standup --duration 3600 --mix standup.wav\n  callpeer record --repair recordings/standup-2026-11-21T08-30-05Z\n  callpeer record --whep http://localhost:8080/whep/stage --duration 600')
    .action(async (url: string | undefined, opts: RecordCliOptions) => {
      if (opts.repair !== undefined) {
        if (url !== undefined) throw new CallpeerError('INVALID_CONFIG', '--repair takes a recording directory and no call link', { hint: `callpeer record --repair ${opts.repair}` });
        repair(opts.repair);
        return;
      }
      if (opts.whep !== undefined && url !== undefined) throw new CallpeerError('INVALID_CONFIG', '--whep records a WHEP stream: give it no call link too', { hint: `callpeer record --whep ${opts.whep}` });
      if (url === undefined && opts.whep === undefined) throw new CallpeerError('INVALID_CONFIG', 'record needs the call link (or --whep URL, or --repair DIR)', { hint: 'callpeer record https://host/r/ROOM' });
      const target = url !== undefined ? parseRoomUrl(url, opts.room) : { ...whepTarget(opts.whep!), wsUrl: undefined };
      const duration = parseSeconds('--duration', opts.duration);
      const outDir = opts.out ?? path.join('recordings', `${target.room}-${stamp(new Date())}`);
      const log = createLogger({ level: opts.logLevel as 'warn', destination: process.stderr });
      const recorder = new Recorder({
        ...(target.wsUrl !== undefined ? { wsUrl: target.wsUrl, room: target.room } : { whepUrl: opts.whep! }),
        outDir,
        name: opts.name,
        video: opts.video,
        log,
        ...(opts.token !== undefined && { token: opts.token }),
        ...(opts.mix !== undefined && { mixPath: opts.mix }),
        peer: peerNetworkOptions(opts),
        signaling: { insecure: opts.insecure === true },
      });
      const out = (line: string) => process.stdout.write(`${line}\n`);
      recorder.on('joined', (j) => out(opts.whep !== undefined
        ? `recording WHEP stream ${opts.whep} into ${recorder.outDir}`
        : `recording room ${j.room.id} into ${recorder.outDir} (${j.participants.length} other${j.participants.length === 1 ? '' : 's'} there${j.room.topology === 'sfu' ? '; SFU room' : ''})`));
      recorder.on('participant-joined', (p) => out(`+ ${p.name} (${p.role}, ${p.id})`));
      recorder.on('participant-left', (p) => out(`- ${p.name} (${p.id})`));
      recorder.on('file-opened', (f) => out(`> ${f.file} (${f.name})`));
      recorder.on('disconnected', (d) => out(`signaling lost (${d.code}); reconnecting, new files will follow`));
      try {
        await recorder.start();
      } catch (err) {
        await recorder.stop().catch(() => undefined);
        cleanupRtc();
        throw explainJoinError(err, target.room);
      }
      const failed = new Promise<void>((r) => recorder.once('failed', () => r()));
      const removed = new Promise<RemovedByServer>((r) => recorder.once('removed', r));
      removed.then((r) => out(r.message), () => {});
      const reason = await waitForStop({
        durationSeconds: duration,
        ended: failed,
        removed,
        closed: new Promise<void>((r) => recorder.once('closed', () => r())),
      });
      let error: unknown;
      const manifest = await recorder.stop().catch((err: unknown) => { error = err; return recorder.manifest; });
      cleanupRtc();
      const files = manifest.files.length;
      out(`stopped (${reason === 'ended' ? 'write failed' : reason === 'removed' ? 'removed by the server' : reason}): ${files} file${files === 1 ? '' : 's'}, ${(manifest.durationMs / 1000).toFixed(1)} s; manifest ${path.join(recorder.outDir, 'manifest.json')}${manifest.mix?.status === 'complete' ? `; mix ${manifest.mix.file}` : ''}`);
      if (error !== undefined) {
        if (isDiskFull(error)) throw new CallpeerError('IO_ERROR', `disk full: recording stopped; the files written so far are in ${recorder.outDir}`, { cause: error, hint: 'free some space or record to another disk with --out' });
        throw error;
      }
      if (reason === 'connection lost' && opts.whep !== undefined) throw new CallpeerError('CONNECTION_FAILED', 'the WHEP connection closed (the stream ended, or its server went away); the files so far are finalized', { hint: 'check the stream, then record again' });
      if (reason === 'connection lost') throw new CallpeerError('CONNECTION_FAILED', 'the server closed the connection and the recorder could not re-join; the files so far are finalized', { hint: 'check the server, then record again' });
    });
}
