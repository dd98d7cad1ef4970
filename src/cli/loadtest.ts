import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { CallpeerError } from '../errors.js';
import { createLogger } from '../log.js';
import type { LoadAudio, LoadTestInput } from '../loadtest/params.js';
import { ProgressView } from '../loadtest/progress.js';
import { formatReport, toJson, violationLine } from '../loadtest/report.js';
import { runLoadTest } from '../loadtest/runner.js';
import type { PcmCodec } from '../protocol/pcm.js';
import { cleanupRtc } from '../rtc/peer.js';
import { collect, ICE_TRANSPORT_POLICY_HELP, peerNetworkOptions, tokenOption } from './options.js';
import { readScenario, type FlagKind, type ScenarioValue } from './scenario.js';

interface LoadtestCliOptions {
  mode: string;
  scenario?: string;
  workers?: string;
  churn?: string;
  whip?: string;
  whep?: string;
  viewers?: string;
  header?: string[];
  rooms?: string;
  peers?: string;
  publishers?: string;
  subscribers?: string;
  ramp?: string;
  duration?: string;
  audio?: string;
  file?: string;
  video?: boolean;
  pairs?: string;
  codec?: string;
  json?: string;
  maxLoss?: string;
  maxSetupP95?: string;
  maxJitter?: string;
  force?: boolean;
  token?: string;
  insecure?: boolean;
  bind?: string;
  iceServer?: string[];
  iceTransportPolicy?: string;
  logLevel: string;
}

/** Exit code of a run that completed but broke a threshold (1 is for errors). */
export const THRESHOLD_EXIT_CODE = 2;

/** A number from a flag; validateParams checks its range and names the flag. */
function n(v: string | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

const WEBRTC_ONLY = ['rooms', 'peers', 'publishers', 'subscribers', 'audio', 'file', 'video', 'bind', 'iceServer', 'iceTransportPolicy'] as const;
const PCM_ONLY = ['pairs', 'codec'] as const;
const WHIP_ONLY = ['viewers', 'header'] as const;
/** Room-only flags a WHIP/WHEP run refuses (it takes --publishers, --audio, --file, --video, --bind, --ice-server). */
const ROOMS_ONLY = ['rooms', 'peers', 'subscribers', 'iceTransportPolicy', 'insecure'] as const;

/** Fills the options the command line left unset from the scenario file; returns the server URL. */
function withScenario(file: string, url: string | undefined, opts: LoadtestCliOptions, cmd: Command): string | undefined {
  const kinds: Record<string, FlagKind> = {};
  for (const o of cmd.options) {
    const key = o.attributeName();
    kinds[key] = o.variadic || key === 'header' || key === 'iceServer' ? 'list' : o.required || o.optional ? 'value' : 'switch';
  }
  const scenario = readScenario(file, kinds);
  const target = opts as unknown as Record<string, ScenarioValue | undefined>;
  for (const [key, value] of Object.entries(scenario)) {
    if (key === 'url' || cmd.getOptionValueSource(key) === 'cli' || cmd.getOptionValueSource(key) === 'env') continue;
    target[key] = value;
  }
  const fromFile = scenario.url;
  return url ?? (typeof fromFile === 'string' ? fromFile : undefined);
}

/** `--workers N|auto` (auto: one per core). */
function workersOf(v: string | undefined): number | undefined {
  return v === 'auto' ? availableParallelism() : n(v);
}

/** `--header 'Name: value'` lines as a record; a line without a colon is refused. */
function parseHeaders(lines: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim();
    if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new CallpeerError('INVALID_CONFIG', `--header "${line}" is not "Name: value"`, { hint: "e.g. --header 'X-Api-Key: secret'" });
    out[name.toLowerCase()] = line.slice(colon + 1).trim();
  }
  return out;
}

/** `--whip`/`--whep`: a WHIP/WHEP run against any server. */
function whipInput(url: string | undefined, o: LoadtestCliOptions): LoadTestInput {
  if (url !== undefined) throw new CallpeerError('INVALID_CONFIG', `--whip/--whep give the endpoints: drop the server URL "${url}"`, { hint: 'callpeer loadtest --whip http://host/whip/ROOM --whep http://host/whep/ROOM' });
  const foreign: string[] = [...(o.mode !== 'webrtc' ? ['mode'] : []), ...[...PCM_ONLY, ...ROOMS_ONLY].filter((k) => o[k] !== undefined)];
  if (foreign.length > 0) {
    throw new CallpeerError('INVALID_CONFIG', `${foreign.map(flagName).join(', ')} do${foreign.length === 1 ? 'es' : ''} not apply to a WHIP/WHEP run`, { hint: 'it takes --publishers, --viewers, --audio, --file, --video, --header, --token' });
  }
  return {
    ...commonInput(o),
    mode: 'whip',
    ...(o.whip !== undefined && { whipUrl: o.whip }),
    ...(o.whep !== undefined && { whepUrl: o.whep }),
    publishers: n(o.publishers),
    viewers: n(o.viewers),
    headers: parseHeaders(o.header ?? []),
    audio: o.audio as LoadAudio | undefined,
    ...(o.file !== undefined && { audioFile: o.file }),
    ...(o.video === true && { video: true }),
    ...(o.bind !== undefined && { bindAddress: o.bind }),
    ...(o.iceServer !== undefined && { iceServers: o.iceServer }),
  };
}

/** The flags every kind of run takes. */
function commonInput(o: LoadtestCliOptions) {
  return {
    rampPerSecond: n(o.ramp),
    durationSeconds: n(o.duration),
    thresholds: { maxLossPercent: n(o.maxLoss), maxSetupP95Ms: n(o.maxSetupP95), maxJitterMs: n(o.maxJitter) },
    force: o.force === true,
    workers: workersOf(o.workers),
    churnPerSecond: n(o.churn),
    ...(o.token !== undefined && { token: o.token }),
  };
}

function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Flags to LoadTestInput, nothing else: the runner validates and runs. */
export function loadtestInput(url: string | undefined, o: LoadtestCliOptions): LoadTestInput {
  if (o.whip !== undefined || o.whep !== undefined) return whipInput(url, o);
  if (url === undefined) throw new CallpeerError('INVALID_CONFIG', 'loadtest needs the server URL (or --whip/--whep URLs)', { hint: 'callpeer loadtest http://localhost:8080 --rooms 2 --peers 5' });
  const foreign = [...(o.mode === 'pcm' ? WEBRTC_ONLY : PCM_ONLY), ...WHIP_ONLY].filter((k) => o[k] !== undefined);
  if (foreign.length > 0) {
    throw new CallpeerError('INVALID_CONFIG', `${foreign.map(flagName).join(', ')} do${foreign.length === 1 ? 'es' : ''} not apply to --mode ${o.mode}`, {
      hint: o.mode === 'pcm' ? 'PCM mode takes --pairs and --codec' : 'add --mode pcm for --pairs and --codec',
    });
  }
  const common = { ...commonInput(o), url, insecure: o.insecure === true };
  if (o.mode === 'pcm') return { ...common, mode: 'pcm', pairs: n(o.pairs), codec: o.codec as PcmCodec | undefined };
  if (o.mode !== 'webrtc') throw new CallpeerError('INVALID_CONFIG', `--mode must be webrtc or pcm (got ${o.mode})`, { hint: 'e.g. --mode pcm --pairs 10' });
  return {
    ...common,
    mode: 'webrtc',
    rooms: n(o.rooms),
    peers: n(o.peers),
    publishers: n(o.publishers),
    subscribers: n(o.subscribers),
    audio: o.audio as LoadAudio | undefined,
    ...(o.file !== undefined && { audioFile: o.file }),
    ...(o.video === true && { video: true }),
    ...peerNetworkOptions(o),
  };
}

export function registerLoadtest(program: Command): void {
  program
    .command('loadtest')
    .description('simulate many WebRTC peers (or /ws/pcm pairs) against a server and measure setup, loss, jitter, latency')
    .argument('[server-url]', 'the server, http(s)://host:port or ws(s)://host:port (not with --whip/--whep)')
    .option('--mode <mode>', 'webrtc (mesh rooms) or pcm (/ws/pcm pairs)', 'webrtc')
    .option('--whip <url>', 'publish through WHIP to this endpoint, any server (callpeer: http://host/whip/ROOM); {n} in it becomes the publisher\'s index')
    .option('--whep <url>', 'view through WHEP from this endpoint, any server (callpeer: http://host/whep/ROOM); {n} becomes the viewer\'s index')
    .option('--viewers <n>', 'WHEP viewers (with --whep; default 1)')
    .option('--header <line>', 'extra header on every WHIP/WHEP request, "Name: value", repeatable', collect)
    .option('--rooms <n>', 'rooms (webrtc; default 1)')
    .option('--peers <m>', 'peers per room, all publishing (default 2)')
    .option('--publishers <p>', 'publishing peers per room (instead of --peers); with --whip, WHIP publishers (default 1)')
    .option('--subscribers <s>', 'listening-only peers per room')
    .option('--ramp <per-second>', 'peers started per second (default 10)')
    .option('--duration <seconds>', 'how long everyone stays after the last peer started (default 10)')
    .option('--audio <kind>', 'tone, file or silence (default tone)')
    .option('--file <path>', 'WAV or Ogg Opus file for --audio file (looped)')
    .option('--video', 'SFU rooms: publishers also send a camera, three simulcast VP8 layers (160x90, 320x180, 640x360 at 15 fps)')
    .option('--pairs <n>', 'pcm: client pairs (default 10)')
    .option('--codec <codec>', 'pcm: pcm or opus (default pcm)')
    .option('--scenario <file>', 'read the run from a YAML or JSON file whose keys are these flags (and url); flags given here override it')
    .option('--churn <per-second>', 'during the hold, peers a second that leave and join again as new sessions (webrtc, whip/whep)')
    .option('--workers <n>', 'spread the simulated peers over N processes on this machine (auto: one per core; default 1)')
    .option('--json <file>', 'write every figure as JSON to this file')
    .option('--max-loss <percent>', `fail (exit ${THRESHOLD_EXIT_CODE}) when packet loss is above this`)
    .option('--max-setup-p95 <ms>', `fail (exit ${THRESHOLD_EXIT_CODE}) when the p95 of start → first packet is above this`)
    .option('--max-jitter <ms>', `fail (exit ${THRESHOLD_EXIT_CODE}) when the p95 of per-stream jitter is above this`)
    .option('--force', 'allow more than 20 peers against a server that is not on this machine')
    .addOption(tokenOption())
    .option('--insecure', 'accept a self-signed certificate on wss://')
    .option('--bind <address>', 'local address for ICE candidates (default 127.0.0.1 for a loopback server)')
    .option('--ice-server <url>', 'extra STUN/TURN server, repeatable', collect)
    .option('--ice-transport-policy <policy>', ICE_TRANSPORT_POLICY_HELP)
    .option('--log-level <level>', 'log level for diagnostics on stderr (failures are counted in the report either way)', 'error')
    .addHelpText('after', [
      '',
      'Examples:',
      '  callpeer loadtest http://localhost:8080 --rooms 10 --peers 5 --ramp 20 --duration 30',
      '  callpeer loadtest http://localhost:8080 --rooms 2 --publishers 1 --subscribers 8 --json run.json --max-loss 1 --max-setup-p95 500',
      '  callpeer loadtest http://localhost:8080 --mode pcm --pairs 50 --codec opus',
      '  callpeer loadtest --whip http://localhost:8080/whip/stage --whep http://localhost:8080/whep/stage --publishers 1 --viewers 50',
      '  callpeer loadtest --scenario town-hall.yaml --duration 600',
    ].join('\n'))
    .action(async (given: string | undefined, opts: LoadtestCliOptions, cmd: Command) => {
      const url = opts.scenario !== undefined ? withScenario(opts.scenario, given, opts, cmd) : given;
      const input = loadtestInput(url, opts);
      const log = createLogger({ level: opts.logLevel as 'warn', destination: process.stderr });
      const view = new ProgressView(process.stdout);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let result;
      try {
        result = await runLoadTest(input, { log, signal: stop.signal, onProgress: (p) => view.update(p) });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        if (input.mode !== 'pcm') cleanupRtc();
      }
      view.done();
      process.stdout.write(`\n${formatReport(result)}`);
      if (opts.json !== undefined) {
        try {
          await writeFile(opts.json, toJson(result));
        } catch (err) {
          throw new CallpeerError('IO_ERROR', `cannot write ${opts.json}: ${(err as Error).message}`, { cause: err, hint: 'check the path' });
        }
      }
      for (const v of result.violations) process.stderr.write(`callpeer: ${violationLine(v)}\n`);
      if (!result.passed) process.exitCode = THRESHOLD_EXIT_CODE;
      // A run in which nobody got in measured nothing: that is an error, not a pass.
      const { peers, errors } = result.summary;
      if (peers.total > 0 && peers.joined === 0) {
        const why = Object.entries(errors).map(([code, n]) => `${code} ${n}`).join(', ') || 'no answer';
        throw new CallpeerError(errors.UNAUTHORIZED ? 'UNAUTHORIZED' : 'CONNECTION_FAILED', `no peer could join (${why})`, {
          hint: errors.UNAUTHORIZED ? 'the server has auth on: pass --token (or CALLPEER_TOKEN) with a token that may open rooms, e.g. callpeer token --role admin --room "*"' : 'check the URL and that the server runs',
        });
      }
    });
}
