import type { Command } from 'commander';
import { loadServeConfig, type ServeFlags } from '../config.js';
import { createLogger } from '../log.js';
import { startServer } from '../app.js';
import { ipcTransport, type IpcEndpoint } from '../cluster/ipc.js';
import { collect } from './options.js';
import { runPrimary, workerCount, workerNode } from './serve-workers.js';

interface ServeCliOptions {
  port?: string;
  host?: string;
  cert?: string;
  key?: string;
  maxMembers?: string;
  maxQueueMs?: string;
  iceServer?: string[];
  allowedOrigin?: string[];
  logLevel?: string;
  topology?: string;
  rtcBind?: string;
  redis?: string;
  workers?: string;
  authSecret?: string;
  authPublicKey?: string;
  allowGuests?: boolean;
  openApi?: boolean;
  turnUrl?: string;
  turnSecret?: string;
  turnTtl?: string;
  rtcRelayOnly?: boolean;
  allowedHost?: string[];
  trustProxy?: boolean;
  videoCodecs?: string;
  simulcast?: string;
  maxVideoBitrate?: string;
  maxResolution?: string;
  maxFramerate?: string;
  audioBitrate?: string;
  maxConnectionsPerIp?: string;
  headersTimeout?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP(S) + WebSocket server: call rooms, pages, PCM pairing')
    .option('-p, --port <port>', 'TCP port, 0 for any free one (default 8080; env CALLPEER_PORT)')
    .option('--host <address>', 'address to listen on (default 0.0.0.0; env CALLPEER_HOST)')
    .option('--cert <file>', 'TLS certificate (PEM) for HTTPS + WSS; default certs/cert.pem when it and certs/key.pem exist (env CALLPEER_CERT)')
    .option('--key <file>', 'TLS private key (PEM) that goes with --cert (env CALLPEER_KEY)')
    .option('--max-members <n>', 'participants per room (default 8; env CALLPEER_MAX_MEMBERS)')
    .option('--max-queue-ms <ms>', 'audio queued for a PCM or phone client before the oldest is dropped (default 200; env CALLPEER_MAX_QUEUE_MS)')
    .option('--ice-server <url>', 'STUN/TURN server handed to clients, repeatable: stun:host:port or turn:user:pass@host:port (env CALLPEER_ICE_SERVER, comma-separated; default none)', collect)
    .option('--topology <mesh|sfu>', 'rooms are mesh (peers connect to each other) or sfu (everyone connects to the server, which forwards audio and video) (default mesh; env CALLPEER_TOPOLOGY)')
    .option('--rtc-bind <address>', 'local address the SFU gathers ICE candidates on (default every interface; env CALLPEER_RTC_BIND)')
    .option('--redis <url>', 'join a cluster of servers sharing rooms through Redis, e.g. redis://127.0.0.1:6379 (env CALLPEER_REDIS)')
    .option('--workers <n|auto>', 'run N server processes behind the port (auto: one per core); they share rooms through --redis, or through the first process (default 1; env CALLPEER_WORKERS)')
    .option('--allowed-origin <origin>', 'extra origin allowed to open WebSockets, repeatable; the server\'s own origin and localhost are always allowed (env CALLPEER_ALLOWED_ORIGIN)', collect)
    .option('--auth-secret <secret>', 'turn auth on: join tokens are JWTs signed HS256 with this secret (at least 32 bytes; env CALLPEER_AUTH_SECRET)')
    .option('--auth-public-key <file>', 'turn auth on: join tokens are JWTs signed ES256/RS256, verified with this PEM public key (env CALLPEER_AUTH_PUBLIC_KEY)')
    .option('--allow-guests', 'with auth on, a join without a token gets in as a guest participant (env CALLPEER_ALLOW_GUESTS=1)')
    .option('--open-api', 'with auth off, the room API answers every address, not only loopback (env CALLPEER_OPEN_API=1)')
    .option('--turn-url <url>', 'TURN server members get short-lived credentials for: turn:host:port[?transport=udp|tcp] (env CALLPEER_TURN_URL)')
    .option('--turn-secret <secret>', 'the static-auth-secret shared with that TURN server (env CALLPEER_TURN_SECRET)')
    .option('--turn-ttl <seconds>', 'how long TURN credentials stay valid (default 3600; env CALLPEER_TURN_TTL)')
    .option('--rtc-relay-only', 'the SFU connects only through the TURN server (relayed candidates; for tests)')
    .option('--allowed-host <host>', 'host name requests may use, repeatable (guards against DNS rebinding; default any; env CALLPEER_ALLOWED_HOST)', collect)
    .option('--trust-proxy', 'trust X-Forwarded-Host/-Proto from a reverse proxy for the origin check (env CALLPEER_TRUST_PROXY=1)')
    .option('--video-codecs <list>', 'video codecs SFU publishers may send, in preference order: vp8, h264 or vp8,h264 (default vp8,h264; env CALLPEER_VIDEO_CODECS)')
    .option('--simulcast <on|off>', 'cameras go out as three simulcast layers in SFU rooms, or as one (default on; env CALLPEER_SIMULCAST)')
    .option('--max-video-bitrate <kbps>', 'ceiling of each video track\'s bitrate, its simulcast layers together (default none; env CALLPEER_MAX_VIDEO_BITRATE)')
    .option('--max-resolution <WxH>', 'largest camera picture members send, e.g. 1280x720 (default none; env CALLPEER_MAX_RESOLUTION)')
    .option('--max-framerate <fps>', 'highest camera frame rate members send (default none; env CALLPEER_MAX_FRAMERATE)')
    .option('--audio-bitrate <kbps>', 'ceiling of every microphone\'s Opus bitrate (default none; env CALLPEER_AUDIO_BITRATE)')
    .option('--max-connections-per-ip <n>', 'open connections (pages, WebSockets) one client address may hold; 0 for no limit (default 200; env CALLPEER_MAX_CONNECTIONS_PER_IP)')
    .option('--headers-timeout <seconds>', 'a connection that has not sent its request headers by then is closed (default 10; env CALLPEER_HEADERS_TIMEOUT)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default info; env CALLPEER_LOG_LEVEL)')
    .addHelpText('after', '\nLogs are JSON when piped and readable on a terminal. SIGINT/SIGTERM stop the server cleanly.\nExample: callpeer serve --port 8443 --cert certs/cert.pem --key certs/key.pem')
    .action(async (opts: ServeCliOptions) => {
      const flags: ServeFlags = {
        port: opts.port as unknown as number | undefined,
        host: opts.host,
        cert: opts.cert,
        key: opts.key,
        maxMembers: opts.maxMembers as unknown as number | undefined,
        maxQueueMs: opts.maxQueueMs as unknown as number | undefined,
        logLevel: opts.logLevel as ServeFlags['logLevel'],
        iceServer: opts.iceServer,
        allowedOrigin: opts.allowedOrigin,
        topology: opts.topology as ServeFlags['topology'],
        rtcBind: opts.rtcBind,
        redis: opts.redis,
        authSecret: opts.authSecret,
        authPublicKey: opts.authPublicKey,
        allowGuests: opts.allowGuests,
        openApi: opts.openApi,
        turnUrl: opts.turnUrl,
        turnSecret: opts.turnSecret,
        turnTtlSeconds: opts.turnTtl as unknown as number | undefined,
        rtcRelayOnly: opts.rtcRelayOnly,
        allowedHost: opts.allowedHost,
        trustProxy: opts.trustProxy,
        ...(opts.videoCodecs !== undefined && { videoCodecs: [opts.videoCodecs] }),
        simulcast: opts.simulcast,
        maxVideoBitrateKbps: opts.maxVideoBitrate as unknown as number | undefined,
        maxResolution: opts.maxResolution,
        maxFramerate: opts.maxFramerate as unknown as number | undefined,
        audioBitrateKbps: opts.audioBitrate as unknown as number | undefined,
        maxConnectionsPerIp: opts.maxConnectionsPerIp as unknown as number | undefined,
        headersTimeout: opts.headersTimeout as unknown as number | undefined,
      };
      const config = loadServeConfig(flags, process.env);
      const workers = workerCount(opts.workers ?? process.env.CALLPEER_WORKERS);
      const node = workerNode();
      const log = createLogger({ level: config.logLevel });
      if (workers > 1 && node === undefined) {
        runPrimary(workers, { redis: config.redis !== undefined, log, scheme: config.cert !== undefined ? 'https' : 'http' });
        return;
      }
      // A worker without Redis reaches the other workers through the primary.
      const cluster = node !== undefined && config.redis === undefined ? ipcTransport(process as unknown as IpcEndpoint, log) : undefined;
      const server = await startServer(config, { log, ...(node !== undefined && { nodeId: node }), ...(cluster && { cluster }) });
      if (process.stderr.isTTY && node === undefined) process.stderr.write(`callpeer: open ${server.url}/ in a browser\n`);
      const stop = (signal: string) => {
        log.info({ signal }, 'shutting down');
        // Clients get told and sockets closed; never take longer than 2 s.
        setTimeout(() => process.exit(0), 1900).unref();
        server.close().then(() => process.exit(0), () => process.exit(0));
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
}
