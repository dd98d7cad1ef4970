import type { Command } from 'commander';
import { CallpeerError } from '../errors.js';
import { createLogger } from '../log.js';
import { PcmClient } from '../client/pcm-client.js';
import { ToneFrames, type PcmFrameSource } from '../media/frames.js';
import { openWavFrames } from '../client/audio-files.js';
import { WavFileRecorder } from '../client/wav-recorder.js';
import { PCM_CODECS, PCM_RATES, type PcmCodec, type PcmRate } from '../protocol/pcm.js';
import { parseSeconds, waitForStop } from './run.js';
import { tokenOption } from './options.js';

interface PcmCliOptions {
  pair?: string;
  room?: string;
  name?: string;
  codec: string;
  rate: string;
  play?: string;
  loop?: boolean;
  tone?: string;
  record?: string;
  duration?: string;
  token?: string;
  insecure?: boolean;
  logLevel: string;
}

/** The typed parameters behind the flags. */
interface PcmRunParams {
  url: string;
  codec: PcmCodec;
  rate: PcmRate;
  pair?: string;
  room?: string;
  name?: string;
  token?: string;
  insecure: boolean;
  play?: string;
  loop: boolean;
  tone?: number;
  record?: string;
  durationSeconds?: number;
}

function toParams(url: string, o: PcmCliOptions): PcmRunParams {
  if (!(PCM_CODECS as readonly string[]).includes(o.codec)) throw new CallpeerError('INVALID_CONFIG', `--codec must be ${PCM_CODECS.join(' or ')} (got ${o.codec})`, { hint: 'use --codec pcm or --codec opus' });
  const rate = Number(o.rate);
  if (!(PCM_RATES as readonly number[]).includes(rate)) throw new CallpeerError('INVALID_CONFIG', `--rate must be one of ${PCM_RATES.join(', ')} (got ${o.rate})`, { hint: 'use --rate 48000 or --rate 16000' });
  if (o.play !== undefined && o.tone !== undefined) throw new CallpeerError('INVALID_CONFIG', '--play and --tone go one at a time', { hint: 'pick one audio source' });
  if (o.room !== undefined && o.pair !== undefined) throw new CallpeerError('INVALID_CONFIG', '--room and --pair go one at a time', { hint: 'give --room to join a call, or --pair to pair with one client' });
  if (o.loop && o.play === undefined) throw new CallpeerError('INVALID_CONFIG', '--loop needs --play', { hint: 'add --play FILE.wav' });
  let tone: number | undefined;
  if (o.tone !== undefined) {
    tone = Number(o.tone);
    if (!(tone > 0 && tone < rate / 2)) throw new CallpeerError('INVALID_CONFIG', `--tone must be a frequency between 0 and ${rate / 2} Hz at --rate ${rate} (got ${o.tone})`, { hint: 'use --tone 440' });
  }
  return {
    url,
    codec: o.codec as PcmCodec,
    rate: rate as PcmRate,
    ...(o.pair !== undefined && { pair: o.pair }),
    ...(o.room !== undefined && { room: o.room }),
    ...(o.name !== undefined && { name: o.name }),
    ...(o.token !== undefined && { token: o.token }),
    insecure: o.insecure === true,
    ...(o.play !== undefined && { play: o.play }),
    loop: o.loop === true,
    ...(tone !== undefined && { tone }),
    ...(o.record !== undefined && { record: o.record }),
    ...(o.duration !== undefined && { durationSeconds: parseSeconds('--duration', o.duration) }),
  };
}

/** Runs one PCM session; resolves when it ended cleanly, rejects with a plain CallpeerError otherwise. */
async function runPcm(p: PcmRunParams, logLevel: string): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const log = createLogger({ level: logLevel as 'warn', destination: process.stderr });
  let source: PcmFrameSource | undefined;
  if (p.tone !== undefined) source = new ToneFrames(p.tone, p.rate);
  else if (p.play !== undefined) source = await openWavFrames(p.play, p.rate, { loop: p.loop });
  const client = new PcmClient({ url: p.url, codec: p.codec, rate: p.rate, pair: p.pair, room: p.room, name: p.name, token: p.token, insecure: p.insecure, log });
  const recorder = p.record === undefined ? undefined : await WavFileRecorder.open(p.record, p.rate);
  let serverError: CallpeerError | undefined;
  const code = new URL(client.url).searchParams.get('pair'); // --pair, or the link's ?pair=
  client.on('waiting', () => out(`waiting for a partner${code === null ? '' : ` with code ${code}`}`));
  client.on('connected', (c) => out(`connected${c.room === undefined ? '' : ` to room ${c.room} as ${c.id}`}: receiving ${c.codec} ${c.sampleRate} Hz mono, ${c.frameMs} ms frames`));
  // In a room: who comes and goes (those already there when it joined are not announced).
  const names = new Map<string, string>();
  client.on('peer-joined', (peer) => { names.set(peer.id, peer.name); out(`joined: ${peer.name} (${peer.role}, ${peer.id})`); });
  client.on('peer-left', (id) => { out(`left: ${names.get(id) ?? 'a participant'} (${id})`); names.delete(id); });
  const removed = client.room === undefined ? undefined : new Promise<void>((r) => {
    client.once('room-closed', (reason) => { out(`the room was closed (${reason})`); r(); });
    client.once('kicked', (reason) => { out(`removed from the room: ${reason}`); r(); });
  });
  client.on('disconnected', () => out('partner left'));
  client.on('reconnecting', ({ code, delayMs, attempt }) => {
    const wait = `${(delayMs / 1000).toFixed(1)} s`;
    out(attempt === 1 ? `connection lost (${code}); reconnecting in ${wait}` : `server still unreachable; trying again in ${wait}`);
  });
  client.on('peer-muted', (muted) => out(muted ? 'partner muted' : 'partner unmuted'));
  client.on('server-error', (err) => { serverError ??= err; out(`server error ${err.code}: ${err.message}`); });
  if (recorder) client.on('audio', (samples) => recorder.write(samples));
  try {
    await client.connect();
    if (source) client.play(source);
    const reason = await waitForStop({
      durationSeconds: p.durationSeconds,
      // without --duration, a file played once ends the session
      ended: p.play !== undefined && !p.loop && p.durationSeconds === undefined ? new Promise<void>((r) => client.once('ended', () => r())) : undefined,
      closed: new Promise<void>((r) => client.once('closed', () => r())),
      removed,
    });
    await client.close();
    out(`done (${reason}): sent ${client.stats.sent} frames, received ${client.stats.received}${recorder ? `, recorded ${recorder.seconds.toFixed(2)} s to ${p.record}` : ''}`);
    if (reason === 'connection lost') {
      if (serverError) throw new CallpeerError(serverError.code, `the server refused the session: ${serverError.message}`, { hint: refusalHint(serverError.code) });
      throw new CallpeerError('CONNECTION_FAILED', 'the server closed the connection', { hint: 'check the server, then run again' });
    }
  } finally {
    await client.close();
    await recorder?.close();
  }
}

function refusalHint(code: string): string {
  switch (code) {
    case 'PAIR_FULL': return 'two clients already use this code; pick another --pair';
    case 'ROOM_NOT_FOUND': return 'check the room name, or have someone allowed to create rooms open it first';
    case 'ROOM_FULL': return 'the room has as many participants as it takes; try later';
    case 'UNAUTHORIZED': return 'give a --token that lets you in';
    case 'SFU_NOT_ENABLED': return 'this server takes PCM clients in SFU rooms only; use an SFU room';
    default: return 'check the flags';
  }
}

export function registerPcm(program: Command): void {
  program
    .command('pcm')
    .description('pair with another client, or join a call room, over /ws/pcm (audio only, no WebRTC): play a tone or a WAV, record what you hear')
    .argument('<server-url>', 'the server (http(s)://host:port), a /duo link with ?pair=CODE, or a call link /r/NAME')
    .option('--pair <code>', 'invite code: pair only with a client that gives the same code (default: first come, first served)')
    .option('--room <name>', 'join this call room as a phone participant (hear the room\'s mix, speak into it) instead of pairing')
    .option('--name <name>', 'your name in the room (with --room)')
    .option('--codec <codec>', 'what to send and receive: pcm or opus', 'pcm')
    .option('--rate <hz>', `sample rate: ${PCM_RATES.join(', ')}`, '48000')
    .option('--play <file>', 'WAV file (any rate) to send, in real time')
    .option('--loop', 'play the file again and again')
    .option('--tone <hz>', 'send a sine tone of this frequency')
    .option('--record <file>', 'write what the partner sends to this WAV file (16-bit, at --rate)')
    .option('--duration <seconds>', 'stop after this long (default: until Ctrl-C, or the end of --play)')
    .addOption(tokenOption())
    .option('--insecure', 'accept a self-signed certificate on https:// / wss://')
    .option('--log-level <level>', 'log level for diagnostics on stderr', 'warn')
    .addHelpText('after', '\nExamples:\n  callpeer pcm http://localhost:8080 --pair demo --tone 440 --duration 10\n  callpeer pcm http://localhost:8080 --pair demo --codec opus --rate 16000 --record heard.wav --duration 10\n  callpeer pcm http://localhost:8080 --room standup --name "Desk phone" --rate 16000 --tone 440 --record room.wav')
    .action(async (url: string, opts: PcmCliOptions) => {
      await runPcm(toParams(url, opts), opts.logLevel);
    });
}
