/**
 * Configuration of `callpeer serve`: one loader, `{...defaults, ...env, ...flags}`,
 * validated and frozen. Every field has its unit and default here.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LevelWithSilent } from 'pino';
import { CallpeerError } from './errors.js';
import type { IceServer, MediaSettings, Topology, VideoCodecName } from './protocol/signaling.js';
import { isIP } from 'node:net';

/**
 * What `callpeer serve` runs with. The media settings members are told (`joined.room.media`,
 * see MediaSettings) are part of it:
 * `simulcast` (default true; env CALLPEER_SIMULCAST on/off), `maxVideoBitrateKbps` (env
 * CALLPEER_MAX_VIDEO_BITRATE), `maxResolution` (env CALLPEER_MAX_RESOLUTION, WxH),
 * `maxFramerate` (env CALLPEER_MAX_FRAMERATE), `audioBitrateKbps` (env CALLPEER_AUDIO_BITRATE).
 */
export interface ServeConfig extends Omit<MediaSettings, 'videoCodecs'> {
  /** TCP port; 0 picks a free one. Default 8080. Env CALLPEER_PORT. */
  port: number;
  /** Address to bind. Default 0.0.0.0. Env CALLPEER_HOST. */
  host: string;
  /** PEM certificate and key file paths; both or neither. Default certs/cert.pem + certs/key.pem when both exist. Env CALLPEER_CERT, CALLPEER_KEY. */
  cert?: string;
  key?: string;
  /** Participants per room. Default 8. Env CALLPEER_MAX_MEMBERS. */
  maxMembers: number;
  /** Audio queued for one PCM or gateway client before the oldest is dropped, ms. Default 200. Env CALLPEER_MAX_QUEUE_MS. */
  maxQueueMs: number;
  /** ICE servers handed to clients in `joined.iceServers` (the SFU uses them too). Env CALLPEER_ICE_SERVER (comma-separated). */
  iceServers: IceServer[];
  /** Rooms' topology: `mesh` (clients connect to each other; the server relays signaling) or `sfu` (everyone connects to the server, which forwards audio). Default mesh. Env CALLPEER_TOPOLOGY. */
  topology: Topology;
  /** Local address the SFU gathers ICE candidates on; default every interface. Env CALLPEER_RTC_BIND. */
  rtcBind?: string;
  /** redis:// URL: this server is a node of a cluster whose nodes share rooms and signaling through it. Env CALLPEER_REDIS. */
  redis?: string;
  /** Extra origins allowed to open WebSockets (the server's own and localhost are always allowed). Env CALLPEER_ALLOWED_ORIGIN (comma-separated). */
  allowedOrigins: string[];
  /** pino level. Default info. Env CALLPEER_LOG_LEVEL. */
  logLevel: LevelWithSilent;
  /** Largest signaling frame in bytes. Default 65536. */
  maxFrameBytes: number;
  /** Bytes the server may hold for one /ws client that does not read them; past this the client is dropped (1008). Default 1048576. */
  maxSendBufferBytes: number;
  /** Server ping interval in ms; a client that misses two is dropped. Default 20000. */
  pingIntervalMs: number;
  /** Signaling messages allowed per connection per second (burst = 2x). Default 50. */
  rateLimitPerSecond: number;
  /** Bad or rate-limited frames tolerated in a burst before the socket is closed with 1008; one is forgiven every 10 s. Default 20. */
  abuseLimit: number;
  /** Folder of the browser pages. Default the package's static/. */
  staticDir: string;
  /** HS256 secret that signs join tokens; turns auth on. Env CALLPEER_AUTH_SECRET. */
  authSecret?: string;
  /** PEM public key (ES256 or RS256) that verifies join tokens; turns auth on. Read at start. Env CALLPEER_AUTH_PUBLIC_KEY (a file path). */
  authPublicKey?: string;
  /** With auth on, a join without a token is let in as a guest participant. Default false. Env CALLPEER_ALLOW_GUESTS=1. */
  allowGuests: boolean;
  /** With auth off, the room API answers every address, not only loopback. Default false. Env CALLPEER_OPEN_API=1. */
  openApi: boolean;
  /** TURN server whose short-lived credentials members get in `joined.iceServers`: turn:host:port[?transport=udp|tcp]. Env CALLPEER_TURN_URL. */
  turnUrl?: string;
  /** The secret shared with the TURN server (coturn `static-auth-secret`). Env CALLPEER_TURN_SECRET. */
  turnSecret?: string;
  /** How long TURN credentials stay valid, seconds. Default 3600. Env CALLPEER_TURN_TTL. */
  turnTtlSeconds: number;
  /** The SFU gathers only relayed candidates through the TURN server (tests). Default false. */
  rtcRelayOnly: boolean;
  /** Host names (with or without port) requests may name; empty: any. Guards against DNS rebinding. Env CALLPEER_ALLOWED_HOST (comma-separated). */
  allowedHosts: string[];
  /** Trust X-Forwarded-Host / X-Forwarded-Proto from a reverse proxy for the origin check. Default false. Env CALLPEER_TRUST_PROXY=1. */
  trustProxy: boolean;
  /** Video codecs SFU publishers may use, in preference order. Default VP8, H264. Env CALLPEER_VIDEO_CODECS (comma-separated). */
  videoCodecs: VideoCodecName[];
  /** Open TCP connections (pages, WebSockets) per client address; 0: no limit. Default 200. Env CALLPEER_MAX_CONNECTIONS_PER_IP. */
  maxConnectionsPerIp: number;
  /** A connection must have sent its request's headers within this many ms (slowloris, idle sockets). Default 10000. Env CALLPEER_HEADERS_TIMEOUT (seconds). */
  headersTimeoutMs: number;
}

export type ServeFlags = Partial<Omit<ServeConfig, 'iceServers' | 'allowedHosts' | 'videoCodecs' | 'simulcast' | 'maxResolution' | 'headersTimeoutMs'>> & {
  /** Seconds, as --headers-timeout gives them. */
  headersTimeout?: number;
  iceServer?: string[]; allowedOrigin?: string[]; allowedHost?: string[]; videoCodecs?: string[];
  /** on/off (true/false, 1/0) as given, or a boolean. */
  simulcast?: string | boolean;
  /** WxH as given. */
  maxResolution?: string;
};

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const PACKAGE_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

export function defaultServeConfig(cwd = process.cwd()): ServeConfig {
  const cert = path.join(cwd, 'certs', 'cert.pem');
  const key = path.join(cwd, 'certs', 'key.pem');
  const haveCerts = existsSync(cert) && existsSync(key);
  return {
    port: 8080,
    host: '0.0.0.0',
    ...(haveCerts ? { cert, key } : {}),
    maxMembers: 8,
    maxQueueMs: 200,
    iceServers: [],
    topology: 'mesh',
    allowedOrigins: [],
    logLevel: 'info',
    maxFrameBytes: 64 * 1024,
    maxSendBufferBytes: 1024 * 1024,
    pingIntervalMs: 20_000,
    rateLimitPerSecond: 50,
    abuseLimit: 20,
    staticDir: path.join(PACKAGE_ROOT, 'static'),
    allowGuests: false,
    openApi: false,
    turnTtlSeconds: 3600,
    rtcRelayOnly: false,
    allowedHosts: [],
    trustProxy: false,
    videoCodecs: ['VP8', 'H264'],
    simulcast: true,
    maxConnectionsPerIp: 200,
    headersTimeoutMs: 10_000,
  };
}

/** Bounds of the media settings flags. */
const MEDIA_LIMITS = {
  videoBitrateKbps: [50, 50_000], resolution: [16, 7680], framerate: [1, 120], audioBitrateKbps: [6, 510],
} as const;

/** `on`/`off` (and true/false, yes/no, 1/0) as a flag or variable gives it. Throws INVALID_CONFIG. */
function onOff(name: string, value: string | boolean): boolean {
  if (typeof value === 'boolean') return value;
  const v = value.trim().toLowerCase();
  if (['on', 'true', 'yes', '1'].includes(v)) return true;
  if (['off', 'false', 'no', '0'].includes(v)) return false;
  return invalid(`${name} must be on or off (got "${value}")`, 'use on or off');
}

/** `WxH`, e.g. 1280x720. Throws INVALID_CONFIG. */
function resolution(value: string): { width: number; height: number } {
  const m = /^\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(value);
  const [lo, hi] = MEDIA_LIMITS.resolution;
  const hint = 'give width x height in pixels, e.g. 1280x720';
  if (!m) return invalid(`--max-resolution (CALLPEER_MAX_RESOLUTION) must be WxH (got "${value}")`, hint);
  return { width: intIn('--max-resolution width', m[1], lo, hi, hint), height: intIn('--max-resolution height', m[2], lo, hi, hint) };
}

/** What members are told in `joined.room.media`. */
export function mediaSettingsOf(c: Readonly<ServeConfig>): MediaSettings {
  return {
    videoCodecs: [...c.videoCodecs], simulcast: c.simulcast,
    ...(c.maxVideoBitrateKbps !== undefined && { maxVideoBitrateKbps: c.maxVideoBitrateKbps }),
    ...(c.maxResolution !== undefined && { maxResolution: { ...c.maxResolution } }),
    ...(c.maxFramerate !== undefined && { maxFramerate: c.maxFramerate }),
    ...(c.audioBitrateKbps !== undefined && { audioBitrateKbps: c.audioBitrateKbps }),
  };
}

function invalid(message: string, hint: string): never {
  throw new CallpeerError('INVALID_CONFIG', message, { hint });
}

function intIn(name: string, value: unknown, min: number, max: number, hint: string): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) invalid(`${name} must be a whole number from ${min} to ${max} (got ${String(value)})`, hint);
  return n;
}

/**
 * Parses an ICE server URL as given on the command line: `stun:host:port`,
 * `turn:user:pass@host:port?transport=udp` or `turns:…`. Credentials in the URL become
 * `username`/`credential` as RTCIceServer wants them.
 */
export function parseIceServerUrl(text: string): IceServer {
  const m = /^(stun|stuns|turn|turns):(?:([^:@]+):([^@]+)@)?([^?]+)(\?.*)?$/.exec(text.trim());
  if (!m) invalid(`--ice-server "${text}" is not a STUN or TURN URL`, 'use stun:host:port or turn:user:password@host:port');
  const [, scheme, username, credential, hostPort, query] = m;
  if ((scheme === 'turn' || scheme === 'turns') && (username === undefined || credential === undefined)) {
    invalid(`--ice-server "${text}" is a TURN URL without credentials`, 'use turn:user:password@host:port');
  }
  const server: IceServer = { urls: `${scheme}:${hostPort}${query ?? ''}` };
  if (username !== undefined) server.username = decodeURIComponent(username);
  if (credential !== undefined) server.credential = decodeURIComponent(credential);
  return server;
}

/** An environment switch: 1/true/yes on, anything else off. */
function flag(v: string): boolean {
  return /^(1|true|yes|on)$/i.test(v.trim());
}

function list(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Reads CALLPEER_* variables into flags of the same shape as the CLI's. */
export function serveFlagsFromEnv(env: NodeJS.ProcessEnv): ServeFlags {
  const f: ServeFlags = {};
  if (env.CALLPEER_PORT !== undefined) f.port = env.CALLPEER_PORT as unknown as number;
  if (env.CALLPEER_HOST !== undefined) f.host = env.CALLPEER_HOST;
  if (env.CALLPEER_CERT !== undefined) f.cert = env.CALLPEER_CERT;
  if (env.CALLPEER_KEY !== undefined) f.key = env.CALLPEER_KEY;
  if (env.CALLPEER_MAX_MEMBERS !== undefined) f.maxMembers = env.CALLPEER_MAX_MEMBERS as unknown as number;
  if (env.CALLPEER_MAX_QUEUE_MS !== undefined) f.maxQueueMs = env.CALLPEER_MAX_QUEUE_MS as unknown as number;
  if (env.CALLPEER_LOG_LEVEL !== undefined) f.logLevel = env.CALLPEER_LOG_LEVEL as LevelWithSilent;
  if (env.CALLPEER_TOPOLOGY !== undefined) f.topology = env.CALLPEER_TOPOLOGY as Topology;
  if (env.CALLPEER_RTC_BIND !== undefined) f.rtcBind = env.CALLPEER_RTC_BIND;
  if (env.CALLPEER_REDIS !== undefined) f.redis = env.CALLPEER_REDIS;
  const ice = list(env.CALLPEER_ICE_SERVER);
  if (ice) f.iceServer = ice;
  const origins = list(env.CALLPEER_ALLOWED_ORIGIN);
  if (origins) f.allowedOrigin = origins;
  if (env.CALLPEER_AUTH_SECRET !== undefined) f.authSecret = env.CALLPEER_AUTH_SECRET;
  if (env.CALLPEER_AUTH_PUBLIC_KEY !== undefined) f.authPublicKey = env.CALLPEER_AUTH_PUBLIC_KEY;
  if (env.CALLPEER_ALLOW_GUESTS !== undefined) f.allowGuests = flag(env.CALLPEER_ALLOW_GUESTS);
  if (env.CALLPEER_OPEN_API !== undefined) f.openApi = flag(env.CALLPEER_OPEN_API);
  if (env.CALLPEER_TURN_URL !== undefined) f.turnUrl = env.CALLPEER_TURN_URL;
  if (env.CALLPEER_TURN_SECRET !== undefined) f.turnSecret = env.CALLPEER_TURN_SECRET;
  if (env.CALLPEER_TURN_TTL !== undefined) f.turnTtlSeconds = env.CALLPEER_TURN_TTL as unknown as number;
  const hosts = list(env.CALLPEER_ALLOWED_HOST);
  if (hosts) f.allowedHost = hosts;
  if (env.CALLPEER_TRUST_PROXY !== undefined) f.trustProxy = flag(env.CALLPEER_TRUST_PROXY);
  const codecs = list(env.CALLPEER_VIDEO_CODECS);
  if (codecs) f.videoCodecs = codecs;
  if (env.CALLPEER_SIMULCAST !== undefined) f.simulcast = env.CALLPEER_SIMULCAST;
  if (env.CALLPEER_MAX_VIDEO_BITRATE !== undefined) f.maxVideoBitrateKbps = env.CALLPEER_MAX_VIDEO_BITRATE as unknown as number;
  if (env.CALLPEER_MAX_RESOLUTION !== undefined) f.maxResolution = env.CALLPEER_MAX_RESOLUTION;
  if (env.CALLPEER_MAX_FRAMERATE !== undefined) f.maxFramerate = env.CALLPEER_MAX_FRAMERATE as unknown as number;
  if (env.CALLPEER_AUDIO_BITRATE !== undefined) f.audioBitrateKbps = env.CALLPEER_AUDIO_BITRATE as unknown as number;
  if (env.CALLPEER_MAX_CONNECTIONS_PER_IP !== undefined) f.maxConnectionsPerIp = env.CALLPEER_MAX_CONNECTIONS_PER_IP as unknown as number;
  if (env.CALLPEER_HEADERS_TIMEOUT !== undefined) f.headersTimeout = env.CALLPEER_HEADERS_TIMEOUT as unknown as number;
  return f;
}

/** Merges defaults, environment and flags (later wins), validates, reads nothing but checks the cert files, and freezes. */
export function loadServeConfig(flags: ServeFlags = {}, env: NodeJS.ProcessEnv = {}, cwd = process.cwd()): Readonly<ServeConfig> {
  const envFlags = serveFlagsFromEnv(env);
  const merged: ServeFlags = { ...envFlags, ...stripUndefined(flags) };
  const base = defaultServeConfig(cwd);
  const explicitTls = merged.cert !== undefined || merged.key !== undefined;
  const cfg: ServeConfig = {
    ...base,
    ...(explicitTls ? { cert: merged.cert, key: merged.key } : {}),
    port: merged.port === undefined ? base.port : intIn('--port (CALLPEER_PORT)', merged.port, 0, 65535, 'pick a port such as 8080'),
    host: merged.host ?? base.host,
    maxMembers: merged.maxMembers === undefined ? base.maxMembers : intIn('--max-members (CALLPEER_MAX_MEMBERS)', merged.maxMembers, 1, 1000, 'use a number such as 8'),
    maxQueueMs: merged.maxQueueMs === undefined ? base.maxQueueMs : intIn('--max-queue-ms (CALLPEER_MAX_QUEUE_MS)', merged.maxQueueMs, 20, 5000, 'use a number of ms such as 200'),
    logLevel: merged.logLevel ?? base.logLevel,
    maxFrameBytes: merged.maxFrameBytes ?? base.maxFrameBytes,
    maxSendBufferBytes: merged.maxSendBufferBytes ?? base.maxSendBufferBytes,
    pingIntervalMs: merged.pingIntervalMs ?? base.pingIntervalMs,
    rateLimitPerSecond: merged.rateLimitPerSecond ?? base.rateLimitPerSecond,
    abuseLimit: merged.abuseLimit ?? base.abuseLimit,
    staticDir: merged.staticDir ?? base.staticDir,
    iceServers: (merged.iceServer ?? []).map(parseIceServerUrl),
    topology: merged.topology ?? base.topology,
    ...(merged.rtcBind !== undefined && { rtcBind: merged.rtcBind }),
    ...(merged.redis !== undefined && { redis: merged.redis }),
    allowedOrigins: (merged.allowedOrigin ?? []).map(normalizeOrigin),
    ...(merged.authSecret !== undefined && { authSecret: merged.authSecret }),
    ...(merged.authPublicKey !== undefined && { authPublicKey: merged.authPublicKey }),
    allowGuests: merged.allowGuests ?? base.allowGuests,
    openApi: merged.openApi ?? base.openApi,
    ...(merged.turnUrl !== undefined && { turnUrl: merged.turnUrl }),
    ...(merged.turnSecret !== undefined && { turnSecret: merged.turnSecret }),
    turnTtlSeconds: merged.turnTtlSeconds === undefined ? base.turnTtlSeconds : intIn('--turn-ttl (CALLPEER_TURN_TTL)', merged.turnTtlSeconds, 60, 7 * 86_400, 'use seconds, e.g. 3600'),
    rtcRelayOnly: merged.rtcRelayOnly ?? base.rtcRelayOnly,
    allowedHosts: (merged.allowedHost ?? []).map((h) => h.trim().toLowerCase()),
    trustProxy: merged.trustProxy ?? base.trustProxy,
    videoCodecs: merged.videoCodecs === undefined ? base.videoCodecs : videoCodecList(merged.videoCodecs),
    simulcast: merged.simulcast === undefined ? base.simulcast : onOff('--simulcast (CALLPEER_SIMULCAST)', merged.simulcast),
    ...(merged.maxVideoBitrateKbps !== undefined && {
      maxVideoBitrateKbps: intIn('--max-video-bitrate (CALLPEER_MAX_VIDEO_BITRATE)', merged.maxVideoBitrateKbps, ...MEDIA_LIMITS.videoBitrateKbps, 'give kbit/s, e.g. 800'),
    }),
    ...(merged.maxResolution !== undefined && { maxResolution: resolution(merged.maxResolution) }),
    ...(merged.maxFramerate !== undefined && {
      maxFramerate: intIn('--max-framerate (CALLPEER_MAX_FRAMERATE)', merged.maxFramerate, ...MEDIA_LIMITS.framerate, 'give frames per second, e.g. 15'),
    }),
    maxConnectionsPerIp: merged.maxConnectionsPerIp === undefined ? base.maxConnectionsPerIp
      : intIn('--max-connections-per-ip (CALLPEER_MAX_CONNECTIONS_PER_IP)', merged.maxConnectionsPerIp, 0, 1_000_000, 'use a number such as 200, or 0 for no limit (behind a reverse proxy every client has its address)'),
    headersTimeoutMs: merged.headersTimeout === undefined ? base.headersTimeoutMs
      : 1000 * intIn('--headers-timeout (CALLPEER_HEADERS_TIMEOUT)', merged.headersTimeout, 1, 600, 'give seconds, e.g. 10'),
    ...(merged.audioBitrateKbps !== undefined && {
      audioBitrateKbps: intIn('--audio-bitrate (CALLPEER_AUDIO_BITRATE)', merged.audioBitrateKbps, ...MEDIA_LIMITS.audioBitrateKbps, 'give kbit/s, e.g. 32 (Opus takes 6 to 510)'),
    }),
  };
  if (cfg.authSecret !== undefined && cfg.authPublicKey !== undefined) invalid('--auth-secret and --auth-public-key exclude each other', 'give one: a shared secret (HS256) or the public key of the token issuer (ES256/RS256)');
  if (cfg.authSecret !== undefined && Buffer.byteLength(cfg.authSecret) < 32) invalid('--auth-secret (CALLPEER_AUTH_SECRET) must be at least 32 bytes', 'make one with: openssl rand -base64 32');
  if (cfg.authPublicKey !== undefined) {
    try {
      readFileSync(cfg.authPublicKey);
    } catch (err) {
      invalid(`--auth-public-key ${cfg.authPublicKey} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'give the PEM file of the token issuer\'s public key');
    }
  }
  if (cfg.allowGuests && cfg.authSecret === undefined && cfg.authPublicKey === undefined) invalid('--allow-guests needs auth on', 'add --auth-secret or --auth-public-key (without auth everyone is let in anyway)');
  if ((cfg.turnUrl === undefined) !== (cfg.turnSecret === undefined)) invalid('--turn-url and --turn-secret go together', 'give both: the TURN server and the static-auth-secret it shares with this server');
  if (cfg.turnUrl !== undefined && !/^turns?:[^\s@]+$/.test(cfg.turnUrl)) invalid(`--turn-url "${cfg.turnUrl}" is not a TURN URL`, 'use turn:host:port, optionally with ?transport=udp or ?transport=tcp');
  if (cfg.rtcRelayOnly && cfg.turnUrl === undefined) invalid('--rtc-relay-only needs --turn-url', 'the SFU can only relay through a TURN server');
  if (!(LOG_LEVELS as readonly string[]).includes(cfg.logLevel)) invalid(`--log-level (CALLPEER_LOG_LEVEL) must be one of ${LOG_LEVELS.join(', ')}`, 'use info, or debug for more');
  if (cfg.topology !== 'mesh' && cfg.topology !== 'sfu') invalid(`--topology (CALLPEER_TOPOLOGY) must be mesh or sfu (got ${String(cfg.topology)})`, 'use mesh (peer to peer) or sfu (the server forwards audio)');
  if (cfg.rtcBind !== undefined && isIP(cfg.rtcBind) === 0) invalid(`--rtc-bind (CALLPEER_RTC_BIND) must be an IP address (got "${cfg.rtcBind}")`, 'use an address of this machine, e.g. 127.0.0.1');
  if (cfg.redis !== undefined && !/^rediss?:\/\/[^\s]+$/.test(cfg.redis)) invalid(`--redis (CALLPEER_REDIS) must be a redis:// URL (got "${cfg.redis}")`, 'use redis://host:port, e.g. redis://127.0.0.1:6379');
  if ((cfg.cert === undefined) !== (cfg.key === undefined)) invalid('--cert and --key go together', 'give both files, or neither for plain HTTP');
  for (const [flag, file] of [['--cert', cfg.cert], ['--key', cfg.key]] as const) {
    if (file === undefined) continue;
    try {
      readFileSync(file);
    } catch (err) {
      invalid(`${flag} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'check the path, or run `callpeer certs` to make a development certificate');
    }
  }
  return Object.freeze(cfg);
}

function videoCodecList(names: string[]): VideoCodecName[] {
  const out: VideoCodecName[] = [];
  for (const name of names.flatMap((n) => n.split(',')).map((n) => n.trim().toUpperCase()).filter(Boolean)) {
    if (name !== 'VP8' && name !== 'H264') invalid(`--video-codecs (CALLPEER_VIDEO_CODECS) knows vp8 and h264 (got "${name.toLowerCase()}")`, 'use vp8, h264 or vp8,h264');
    if (!out.includes(name)) out.push(name);
  }
  if (out.length === 0) invalid('--video-codecs (CALLPEER_VIDEO_CODECS) names no codec', 'use vp8, h264 or vp8,h264');
  return out;
}

function normalizeOrigin(o: string): string {
  try {
    return new URL(o).origin;
  } catch {
    invalid(`--allowed-origin "${o}" is not an origin`, 'use a full origin such as https://example.com');
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
