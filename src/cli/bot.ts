import type { Command } from 'commander';
import { Bot, type BotReceivedStats } from '../bots/bot.js';
import { openAudioFile } from '../client/audio-files.js';
import { parseRoomUrl } from '../client/room-url.js';
import { WhipClient } from '../client/whip-client.js';
import { CallpeerError } from '../errors.js';
import { createLogger } from '../log.js';
import { ToneSource, type OpusSource } from '../media/opus-sources.js';
import { cleanupRtc } from '../rtc/peer.js';
import { collect, ICE_TRANSPORT_POLICY_HELP, peerNetworkOptions, tokenOption } from './options.js';
import { parseSeconds, waitForStop } from './run.js';

interface BotCliOptions {
  room?: string;
  name: string;
  play?: string;
  loop?: boolean;
  tone?: string;
  echo?: boolean;
  duration?: string;
  token?: string;
  iceServer?: string[];
  bind?: string;
  iceTransportPolicy?: string;
  insecure?: boolean;
  statsInterval: string;
  whip?: string;
  logLevel: string;
}

export function registerBot(program: Command): void {
  program
    .command('bot')
    .description('join a call as a bot that plays audio into it or echoes each participant; or publish to any WHIP endpoint')
    .argument('[room-url]', 'the call link (https://host/r/NAME), or ws(s)://host with --room')
    .option('--whip <url>', 'publish --tone or --play to this WHIP endpoint instead (any WHIP server; callpeer\'s is http(s)://host/whip/ROOM)')
    .option('--room <name>', 'room name, when the URL is not a call link')
    .option('--name <name>', 'display name in the call', 'callpeer bot')
    .option('--play <file>', 'WAV (any rate) or Ogg Opus (20 ms frames) file to publish to everyone')
    .option('--loop', 'play the file again and again')
    .option('--tone <hz>', 'publish a sine tone of this frequency')
    .option('--echo', 'send each participant their own audio back (no re-encoding)')
    .option('--duration <seconds>', 'leave after this long (default: until Ctrl-C, or the end of --play)')
    .addOption(tokenOption())
    .option('--ice-server <url>', 'extra STUN/TURN server, repeatable (the server\'s own are used too)', collect)
    .option('--bind <address>', 'local address for ICE candidates (e.g. 127.0.0.1)')
    .option('--ice-transport-policy <policy>', ICE_TRANSPORT_POLICY_HELP)
    .option('--insecure', 'accept a self-signed certificate on wss://')
    .option('--stats-interval <seconds>', 'seconds between stats lines', '5')
    .option('--log-level <level>', 'log level for diagnostics on stderr', 'warn')
    .addHelpText('after', '\nExamples:\n  callpeer bot http://localhost:8080/r/demo --tone 440\n  callpeer bot https://calls.example/r/standup --play intro.wav --duration 30\n  callpeer bot ws://localhost:8080 --room demo --echo\n  callpeer bot --whip http://localhost:8080/whip/demo?name=Radio --play show.ogg')
    .action(async (url: string | undefined, opts: BotCliOptions) => {
      const sources = [opts.play !== undefined, opts.tone !== undefined].filter(Boolean).length;
      if (sources > 1) throw new CallpeerError('INVALID_CONFIG', '--play and --tone go one at a time', { hint: 'pick one audio source' });
      if (opts.loop && opts.play === undefined) throw new CallpeerError('INVALID_CONFIG', '--loop needs --play', { hint: 'add --play FILE' });
      if (opts.whip !== undefined && url !== undefined) throw new CallpeerError('INVALID_CONFIG', 'give a room URL or --whip URL, not both', { hint: 'callpeer bot --whip http://host/whip/ROOM --tone 440' });
      if (opts.whip === undefined && url === undefined) throw new CallpeerError('INVALID_CONFIG', 'which call? give its link', { hint: 'callpeer bot http://localhost:8080/r/demo --tone 440' });
      const duration = parseSeconds('--duration', opts.duration);
      const statsEvery = parseSeconds('--stats-interval', opts.statsInterval)!;
      let source: OpusSource | undefined;
      if (opts.tone !== undefined) {
        const hz = Number(opts.tone);
        if (!(hz > 0 && hz < 24000)) throw new CallpeerError('INVALID_CONFIG', `--tone must be a frequency between 0 and 24000 Hz (got ${opts.tone})`, { hint: 'use --tone 440' });
        source = new ToneSource(hz);
      } else if (opts.play !== undefined) {
        source = await openAudioFile(opts.play, { loop: opts.loop === true });
      }
      const log = createLogger({ level: opts.logLevel as 'warn', destination: process.stderr });
      if (opts.whip !== undefined) return publishWhip(opts.whip, opts, source, duration);
      const target = parseRoomUrl(url!, opts.room);
      const bot = new Bot({
        wsUrl: target.wsUrl,
        room: target.room,
        name: opts.name,
        ...(opts.token !== undefined && { token: opts.token }),
        ...(source && { source }),
        echo: opts.echo === true,
        log,
        peer: peerNetworkOptions(opts),
        signaling: { insecure: opts.insecure === true },
      });
      const out = (line: string) => process.stdout.write(`${line}\n`);
      bot.on('joined', (j) => out(`joined room ${j.room.id} as ${j.id} (${j.participants.length} other${j.participants.length === 1 ? '' : 's'} there${j.room.topology === 'sfu' ? '; SFU room: audio goes through the server' : ''})`));
      bot.on('participant-joined', (p) => out(`+ ${p.name} (${p.role}, ${p.id})`));
      bot.on('participant-left', (p) => out(`- ${p.name} (${p.id})`));
      bot.on('disconnected', (d) => out(`signaling lost (${d.code}); reconnecting`));
      try {
        await bot.start();
      } catch (err) {
        await bot.close();
        cleanupRtc();
        throw err;
      }
      const f = (n: number | undefined, unit: string, digits = 1) => (n === undefined ? '-' : `${n.toFixed(digits)}${unit}`);
      const inbound = (r: BotReceivedStats) => `in ${r.packets} pkts loss ${f(r.lossPercent, '%')} jitter ${f(r.jitterMs, 'ms')}`;
      const timer = setInterval(() => {
        for (const s of bot.stats()) {
          out(`stats ${s.name}: ${s.connected ? 'connected' : 'connecting'}; ${inbound(s.received)}; out ${s.sent.packets} pkts loss ${f(s.sent.lossPercent, '%')} rtt ${f(s.sent.rttMs, 'ms')}`);
          // SFU: the line above is the server connection; what each publisher's stream brings follows.
          for (const h of s.heard ?? []) out(`stats ${h.name} (via server): ${inbound(h.received)}`);
        }
      }, statsEvery * 1000);
      const reason = await waitForStop({
        durationSeconds: duration,
        ended: source && !opts.loop && opts.play !== undefined ? new Promise<void>((r) => bot.once('ended', () => r())) : undefined,
        removed: new Promise<void>((r) => bot.once('removed', (x) => { out(x.message); r(); })),
        closed: new Promise<void>((r) => bot.once('closed', () => r())),
      });
      clearInterval(timer);
      await bot.close();
      cleanupRtc();
      out(`left the room (${reason})`);
      if (reason === 'connection lost') throw new CallpeerError('CONNECTION_FAILED', 'the server closed the connection and the bot could not re-join', { hint: 'check the server, then run the bot again' });
    });
}

/** `bot --whip URL`: publishes the source through WHIP until the duration, the source's end or Ctrl-C. */
async function publishWhip(url: string, opts: BotCliOptions, source: OpusSource | undefined, duration: number | undefined): Promise<void> {
  if (!source) throw new CallpeerError('INVALID_CONFIG', '--whip publishes --tone or --play', { hint: 'add --tone 440 or --play FILE' });
  if (opts.echo) throw new CallpeerError('INVALID_CONFIG', '--echo needs a call to hear: WHIP only sends', { hint: 'drop --echo, or join the call by its link' });
  if (opts.room !== undefined) throw new CallpeerError('INVALID_CONFIG', '--room goes with a room URL; a WHIP URL names its room itself', { hint: 'drop --room' });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const client = new WhipClient({ url, ...(opts.token !== undefined && { token: opts.token }), peer: peerNetworkOptions(opts) });
  try {
    const session = await client.start();
    out(`publishing to ${url} (session ${session.resource})`);
  } catch (err) {
    await client.stop();
    cleanupRtc();
    throw err;
  }
  const ended = client.play(source);
  const reason = await waitForStop({ durationSeconds: duration, ended: opts.loop ? undefined : ended, closed: client.closed() });
  const status = await client.stop();
  cleanupRtc();
  out(`stopped publishing (${reason}${status === undefined ? '' : `; DELETE answered ${status}`})`);
  if (reason === 'connection lost') throw new CallpeerError('CONNECTION_FAILED', 'the media connection to the WHIP server closed', { hint: 'check the server, then run the bot again' });
}
