import type { Command } from 'commander';
import { Bridge, type BridgeEndReason } from '../bots/bridge/bridge.js';
import { parseRoomUrl } from '../client/room-url.js';
import { CallpeerError } from '../errors.js';
import { createLogger } from '../log.js';
import { cleanupRtc } from '../rtc/peer.js';
import { collect, ICE_TRANSPORT_POLICY_HELP, peerNetworkOptions, tokenOption } from './options.js';
import { parseSeconds, waitForStop } from './run.js';

interface BridgeCliOptions {
  room?: string;
  to?: string;
  dialect: string;
  rate: string;
  name: string;
  param?: string[];
  maxQueueMs?: string;
  duration?: string;
  token?: string;
  iceServer?: string[];
  bind?: string;
  iceTransportPolicy?: string;
  insecure?: boolean;
  logLevel: string;
}

const RAW_RATES = [8000, 16000, 24000, 48000];

/** `--param key=value` flags as Twilio customParameters. */
function parameters(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CallpeerError('INVALID_CONFIG', `--param must be key=value (got "${item}")`, { hint: 'e.g. --param lang=en' });
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function agentUrl(to: string | undefined): string {
  if (to === undefined) throw new CallpeerError('INVALID_CONFIG', '--to is missing: the agent\'s media WebSocket', { hint: 'add --to wss://agent.example/media' });
  let url: URL;
  try {
    url = new URL(to);
  } catch {
    throw new CallpeerError('INVALID_CONFIG', `--to "${to}" is not a URL`, { hint: 'use ws://host:port/path or wss://…' });
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new CallpeerError('INVALID_CONFIG', `--to must be a ws:// or wss:// URL (got ${url.protocol}//)`, { hint: 'use ws://host:port/path or wss://…' });
  return to;
}

export function registerBridge(program: Command): void {
  program
    .command('bridge')
    .description('connect a call to a voice agent\'s media WebSocket: the agent hears the room and speaks into it')
    .argument('<room-url>', 'the call link (https://host/r/NAME), or ws(s)://host with --room')
    .option('--to <ws-url>', 'the agent\'s media WebSocket, ws(s)://… (required)')
    .option('--dialect <dialect>', 'twilio: Twilio Media Streams JSON (µ-law 8 kHz, marks, clear); raw: binary 16-bit PCM at --rate', 'twilio')
    .option('--rate <hz>', 'raw dialect: sample rate both ways (8000, 16000, 24000 or 48000)', '16000')
    .option('--room <name>', 'room name, when the URL is not a call link')
    .option('--name <name>', 'display name in the call', 'callpeer bridge')
    .option('--param <key=value>', 'twilio dialect: a start.customParameters entry, repeatable (room is always sent)', collect)
    .option('--max-queue-ms <ms>', 'agent audio waiting to play before the oldest is dropped (default 30000)')
    .option('--duration <seconds>', 'leave after this long (default: until Ctrl-C, the agent hangs up, or the room ends)')
    .addOption(tokenOption())
    .option('--ice-server <url>', 'extra STUN/TURN server, repeatable (the server\'s own are used too)', collect)
    .option('--bind <address>', 'local address for ICE candidates (e.g. 127.0.0.1)')
    .option('--ice-transport-policy <policy>', ICE_TRANSPORT_POLICY_HELP)
    .option('--insecure', 'accept a self-signed certificate on wss:// (the call server\'s)')
    .option('--log-level <level>', 'log level for diagnostics on stderr', 'warn')
    .addHelpText('after', '\nExamples:\n  callpeer bridge http://localhost:8080/r/support --to ws://localhost:9000/media\n  callpeer bridge https://calls.example/r/desk --to wss://agent.example/twilio --param lang=en\n  callpeer bridge http://localhost:8080/r/demo --to ws://localhost:9000/pcm --dialect raw --rate 16000')
    .action(async (url: string, opts: BridgeCliOptions) => {
      const to = agentUrl(opts.to);
      if (opts.dialect !== 'twilio' && opts.dialect !== 'raw') throw new CallpeerError('INVALID_CONFIG', `--dialect must be twilio or raw (got ${opts.dialect})`, { hint: 'use --dialect twilio' });
      const rate = Number(opts.rate);
      if (!RAW_RATES.includes(rate)) throw new CallpeerError('INVALID_CONFIG', `--rate must be one of ${RAW_RATES.join(', ')} (got ${opts.rate})`, { hint: 'use --rate 16000' });
      let maxQueuedMs: number | undefined;
      if (opts.maxQueueMs !== undefined) {
        maxQueuedMs = Number(opts.maxQueueMs);
        if (!(Number.isInteger(maxQueuedMs) && maxQueuedMs >= 20)) throw new CallpeerError('INVALID_CONFIG', `--max-queue-ms must be a whole number of ms, at least 20 (got ${opts.maxQueueMs})`, { hint: 'use --max-queue-ms 30000' });
      }
      const target = parseRoomUrl(url, opts.room);
      const duration = parseSeconds('--duration', opts.duration);
      const log = createLogger({ level: opts.logLevel as 'warn', destination: process.stderr });
      const bridge = new Bridge({
        wsUrl: target.wsUrl,
        room: target.room,
        name: opts.name,
        to,
        dialect: opts.dialect,
        rate,
        customParameters: parameters(opts.param),
        ...(maxQueuedMs !== undefined && { maxQueuedMs }),
        ...(opts.token !== undefined && { token: opts.token }),
        log,
        peer: peerNetworkOptions(opts),
        signaling: { insecure: opts.insecure === true },
      });
      const out = (line: string) => process.stdout.write(`${line}\n`);
      let ended: BridgeEndReason | undefined;
      const closed = new Promise<void>((r) => bridge.once('closed', ({ reason }) => { ended = reason; r(); }));
      bridge.on('agent-connected', ({ streamSid, attempt }) => out(`${attempt === 0 ? 'streaming to' : 'streaming again to'} ${to} (${opts.dialect}${streamSid ? `, stream ${streamSid}` : ''})`));
      bridge.on('agent-dropped', ({ code }) => out(`the agent's socket dropped (${code}); dialling again`));
      bridge.on('joined', (j) => out(`joined room ${j.room.id} as ${j.id} (${j.participants.length} other${j.participants.length === 1 ? '' : 's'} there)`));
      bridge.on('participant-joined', (p) => out(`+ ${p.name} (${p.role}, ${p.id})`));
      bridge.on('participant-left', (p) => out(`- ${p.name} (${p.id})`));
      try {
        await bridge.start();
      } catch (err) {
        await bridge.close();
        cleanupRtc();
        throw err;
      }
      const reason = await waitForStop({
        durationSeconds: duration,
        removed: new Promise<void>((r) => bridge.once('removed', (x) => { out(x.message); r(); })),
        closed,
      });
      await bridge.close();
      cleanupRtc();
      const why = ended === 'agent-ended' ? 'the agent ended the stream' : ended === 'agent-lost' ? 'the agent could not be reached again' : reason;
      out(`left the room (${why})`);
      if (ended === 'agent-lost') throw new CallpeerError('CONNECTION_FAILED', `the agent at ${to} dropped and could not be reached again`, { hint: 'check the agent, then run the bridge again' });
      if (ended === 'connection-lost') throw new CallpeerError('CONNECTION_FAILED', 'the server closed the connection and the bridge could not re-join', { hint: 'check the server, then run the bridge again' });
    });
}
