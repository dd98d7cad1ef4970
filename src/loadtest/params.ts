/**
 * What a load test does, as one typed object: the CLI only maps flags onto it and scripts
 * build it by hand (`runLoadTest(params)`). `validateParams` fills the defaults, checks every
 * field and refuses a big run against somebody else's server unless `force` is set.
 */
import { randomBytes } from 'node:crypto';
import { CallpeerError } from '../errors.js';
import type { PcmCodec } from '../protocol/pcm.js';
import { parseIceTransportPolicy } from '../rtc/ice-servers.js';
import type { IceTransportPolicy } from '../rtc/peer.js';

/** What each publishing peer sends: a 440 Hz tone, a file (looped), or encoded silence (tiny Opus packets). */
export type LoadAudio = 'tone' | 'file' | 'silence';

/** Limits that fail the run (exit code 2 on the CLI) when exceeded; absent = not checked. */
export interface LoadThresholds {
  /** Packet loss over every received stream, percent. */
  maxLossPercent?: number;
  /** p95 of the setup time (start → first packet), ms. */
  maxSetupP95Ms?: number;
  /** p95 of the streams' RFC 3550 interarrival jitter, ms. */
  maxJitterMs?: number;
}

/** Hooks for tests; never set by the CLI. */
export interface LoadTestHooks {
  /**
   * Called for the n-th RTP packet (1-based) arriving on each received stream; true drops it
   * before it is counted, as if the network lost it.
   */
  dropReceived?: (n: number) => boolean;
}

interface CommonParams {
  /** The server: http(s)://host[:port] or ws(s)://host[:port]. */
  url: string;
  /** Peers (WebRTC) or clients (PCM) started per second. Default 10. */
  rampPerSecond: number;
  /** Seconds every peer stays in after the last one started. Default 10. */
  durationSeconds: number;
  thresholds: LoadThresholds;
  /** Allow more than MAX_REMOTE_PEERS peers against a host that is not loopback. */
  force: boolean;
  token?: string;
  /** Accept a self-signed certificate on wss://. */
  insecure: boolean;
  /** Processes the peers are spread over (`--workers`; every core: os.availableParallelism()). Default 1. */
  workers: number;
  /** During the hold, peers a second that leave and join again as new sessions (not PCM). Default 0. */
  churnPerSecond: number;
}

export interface WebRtcLoadParams extends CommonParams {
  mode: 'webrtc';
  rooms: number;
  /** Peers per room that publish audio. */
  publishers: number;
  /** Peers per room that only listen. */
  subscribers: number;
  audio: LoadAudio;
  /** WAV or Ogg Opus file when audio is 'file'. */
  audioFile?: string;
  /** SFU rooms: publishers also send a camera, three simulcast layers of pre-encoded VP8 (loadtest/video.ts). */
  video: boolean;
  /** Rooms are named `<prefix>-<n>`; default `loadtest-<random>` so runs never collide. */
  roomPrefix: string;
  /** Local address for ICE candidates; default 127.0.0.1 against a loopback server, else any. */
  bindAddress?: string;
  /** STUN/TURN in node-datachannel form, on top of the server's own. */
  iceServers?: string[];
  /** 'relay': every peer connects only through a TURN relay (the server's or `iceServers`); default 'all'. */
  iceTransportPolicy?: IceTransportPolicy;
  /** A peer link not connected this long after it started is closed and counted, ms. Default 15000. */
  connectTimeoutMs: number;
  hooks?: LoadTestHooks;
}

export interface PcmLoadParams extends CommonParams {
  mode: 'pcm';
  /** Pairs of /ws/pcm clients; both ends of a pair send and receive. */
  pairs: number;
  codec: PcmCodec;
}

/**
 * WHIP publishers and WHEP viewers against any server that speaks them (callpeer's
 * `/whip/<room>` and `/whep/<room>`, Janus behind simple-whip-server, …). In either URL, `{n}`
 * becomes the peer's index (servers with one endpoint per stream).
 */
export interface WhipLoadParams extends CommonParams {
  mode: 'whip';
  /** Where publishers POST their offers (needed when publishers > 0). */
  whipUrl?: string;
  /** Where viewers POST theirs (needed when viewers > 0). */
  whepUrl?: string;
  publishers: number;
  viewers: number;
  audio: LoadAudio;
  audioFile?: string;
  /** Publishers also send a 640x360 VP8 camera; viewers offer a video section. */
  video: boolean;
  /** More headers on every WHIP/WHEP request (`--header 'Name: value'`). */
  headers: Record<string, string>;
  bindAddress?: string;
  iceServers?: string[];
  /** A session not connected this long after it started is counted, ms. Default 15000. */
  connectTimeoutMs: number;
}

export type LoadTestParams = WebRtcLoadParams | PcmLoadParams | WhipLoadParams;

/** What a caller may leave out. */
export type LoadTestInput =
  | (Partial<Omit<WebRtcLoadParams, 'url' | 'mode'>> & { url: string; mode?: 'webrtc'; peers?: number })
  | (Partial<Omit<PcmLoadParams, 'url' | 'mode'>> & { url: string; mode: 'pcm' })
  | (Partial<Omit<WhipLoadParams, 'url' | 'mode'>> & { url?: string; mode: 'whip' });

/** Peers allowed against a host that is not loopback without `force`: enough to try, not to flood. */
export const MAX_REMOTE_PEERS = 20;

function invalid(message: string, hint: string): CallpeerError {
  return new CallpeerError('INVALID_CONFIG', message, { hint });
}

function int(name: string, v: number | undefined, dflt: number, min: number, max: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < min || n > max) throw invalid(`${name} must be an integer from ${min} to ${max} (got ${v})`, `e.g. ${name} ${dflt}`);
  return n;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!(n > 0 && Number.isFinite(n))) throw invalid(`${name} must be a positive number (got ${v})`, `e.g. ${name} ${dflt}`);
  return n;
}

function nonNegative(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!(n >= 0 && Number.isFinite(n))) throw invalid(`${name} must be a number >= 0 (got ${v})`, `e.g. ${name} 2`);
  return n;
}

function thresholds(t: LoadThresholds | undefined): LoadThresholds {
  const out: LoadThresholds = {};
  for (const key of ['maxLossPercent', 'maxSetupP95Ms', 'maxJitterMs'] as const) {
    const v = t?.[key];
    if (v === undefined) continue;
    if (!(v >= 0 && Number.isFinite(v))) throw invalid(`threshold ${key} must be a number >= 0 (got ${v})`, 'e.g. --max-loss 1');
    out[key] = v;
  }
  return out;
}

/** True for 127.0.0.0/8, ::1 and localhost: a server on this machine. */
export function isLoopbackHost(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function checkUrl(url: string, schemes = ['http:', 'https:', 'ws:', 'wss:'], example = 'http://localhost:8080'): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid(`"${url}" is not a URL`, `give the server like ${example}`);
  }
  if (!schemes.includes(u.protocol)) throw invalid(`unsupported scheme "${u.protocol}" in "${url}"`, `use ${schemes.map((x) => `${x}//`).join(' or ')}`);
}

/** Against this machine, gather on loopback: libjuice finds no loopback candidate by itself. */
function bindFor(url: string, bindAddress: string | undefined): { bindAddress?: string } {
  const address = bindAddress ?? (isLoopbackHost(url) ? '127.0.0.1' : undefined);
  return address !== undefined ? { bindAddress: address } : {};
}

function audioOf(input: { audio?: LoadAudio; audioFile?: string }): LoadAudio {
  const audio = input.audio ?? 'tone';
  if (!['tone', 'file', 'silence'].includes(audio)) throw invalid(`--audio must be tone, file or silence (got ${String(audio)})`, 'e.g. --audio tone');
  if ((audio === 'file') !== (input.audioFile !== undefined)) throw invalid('--audio file goes with --file PATH (and only then)', 'e.g. --audio file --file speech.wav');
  return audio;
}

function whipParams(input: Extract<LoadTestInput, { mode: 'whip' }>, common: Omit<CommonParams, 'url'>): WhipLoadParams {
  const { whipUrl, whepUrl } = input;
  if (whipUrl === undefined && whepUrl === undefined) throw invalid('a WHIP/WHEP run needs --whip URL, --whep URL or both', 'e.g. --whip http://localhost:8080/whip/stage --publishers 2');
  for (const u of [whipUrl, whepUrl]) if (u !== undefined) checkUrl(u, ['http:', 'https:'], 'http://localhost:8080/whip/stage');
  const publishers = int('--publishers', input.publishers, whipUrl !== undefined ? 1 : 0, 0, 5000);
  const viewers = int('--viewers', input.viewers, whepUrl !== undefined ? 1 : 0, 0, 5000);
  if (publishers > 0 && whipUrl === undefined) throw invalid('--publishers publish through WHIP: add --whip URL', 'e.g. --whip http://localhost:8080/whip/stage');
  if (viewers > 0 && whepUrl === undefined) throw invalid('--viewers view through WHEP: add --whep URL', 'e.g. --whep http://localhost:8080/whep/stage');
  if (publishers + viewers === 0) throw invalid('nobody to simulate: --publishers and --viewers are both 0', 'e.g. --publishers 1 --viewers 10');
  const url = (whipUrl ?? whepUrl)!;
  return {
    ...common,
    url,
    mode: 'whip',
    ...(whipUrl !== undefined && { whipUrl }),
    ...(whepUrl !== undefined && { whepUrl }),
    publishers,
    viewers,
    audio: audioOf(input),
    ...(input.audioFile !== undefined && { audioFile: input.audioFile }),
    video: input.video ?? false,
    headers: input.headers ?? {},
    connectTimeoutMs: positive('connectTimeoutMs', input.connectTimeoutMs, 15_000),
    ...bindFor(url, input.bindAddress),
    ...(input.iceServers !== undefined && { iceServers: input.iceServers }),
  };
}

/** Defaults filled, every field checked; throws INVALID_CONFIG naming the field. */
export function validateParams(input: LoadTestInput): LoadTestParams {
  const shared = {
    rampPerSecond: positive('--ramp', input.rampPerSecond, 10),
    durationSeconds: positive('--duration', input.durationSeconds, 10),
    thresholds: thresholds(input.thresholds),
    force: input.force ?? false,
    insecure: input.insecure ?? false,
    workers: int('--workers', input.workers, 1, 1, 64),
    churnPerSecond: nonNegative('--churn', input.churnPerSecond, 0),
    ...(input.token !== undefined && { token: input.token }),
  };
  let params: LoadTestParams;
  let total: number;
  if (input.mode === 'whip') {
    params = whipParams(input, shared);
    total = params.publishers + params.viewers;
    return checkRemote(params, total);
  }
  checkUrl(input.url);
  const common = { ...shared, url: input.url };
  if (input.mode === 'pcm') {
    if (common.churnPerSecond > 0) throw invalid('--churn is for WebRTC and WHIP/WHEP runs: PCM pairs do not churn', 'drop --churn');
    params = { ...common, mode: 'pcm', pairs: int('--pairs', input.pairs, 10, 1, 5000), codec: input.codec ?? 'pcm' };
    if (params.codec !== 'pcm' && params.codec !== 'opus') throw invalid(`--codec must be pcm or opus (got ${String(params.codec)})`, 'e.g. --codec opus');
    total = params.pairs * 2;
  } else {
    if (input.peers !== undefined && (input.publishers !== undefined || input.subscribers !== undefined)) {
      throw invalid('--peers and --publishers/--subscribers go one at a time', 'use --peers M (all publish) or --publishers P --subscribers S');
    }
    const publishers = int('--publishers', input.publishers ?? input.peers, 2, 0, 1000);
    const subscribers = int('--subscribers', input.subscribers, 0, 0, 1000);
    if (publishers + subscribers < 2) throw invalid('a room needs at least 2 peers', 'e.g. --peers 5');
    const audio = audioOf(input);
    params = {
      ...common,
      mode: 'webrtc',
      rooms: int('--rooms', input.rooms, 1, 1, 10000),
      publishers,
      subscribers,
      audio,
      video: input.video ?? false,
      roomPrefix: input.roomPrefix ?? `loadtest-${randomBytes(3).toString('hex')}`,
      connectTimeoutMs: positive('connectTimeoutMs', input.connectTimeoutMs, 15_000),
      ...(input.audioFile !== undefined && { audioFile: input.audioFile }),
      ...bindFor(input.url, input.bindAddress),
      ...(input.iceServers !== undefined && { iceServers: input.iceServers }),
      ...(input.iceTransportPolicy !== undefined && { iceTransportPolicy: parseIceTransportPolicy(input.iceTransportPolicy) }),
      ...(input.hooks !== undefined && { hooks: input.hooks }),
    };
    total = params.rooms * (publishers + subscribers);
  }
  return checkRemote(params, total);
}

/** Refuses a big run against somebody else's server unless `force` is set. */
function checkRemote<P extends LoadTestParams>(params: P, total: number): P {
  if (total > MAX_REMOTE_PEERS && !params.force && !isLoopbackHost(params.url)) {
    throw invalid(`${total} peers against ${new URL(params.url).host}, which is not this machine: refused above ${MAX_REMOTE_PEERS}`, 'add --force if you run that server and mean it');
  }
  return params;
}

/** How many simulated peers (WebRTC) or clients (PCM) a run starts. */
export function peerCount(p: LoadTestParams): number {
  if (p.mode === 'whip') return p.publishers + p.viewers;
  return p.mode === 'pcm' ? p.pairs * 2 : p.rooms * (p.publishers + p.subscribers);
}
