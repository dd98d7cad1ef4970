/**
 * The composition root of `callpeer serve`: HTTP(S) server, signaling on /ws, PCM pairing on
 * /ws/pcm, metrics, graceful shutdown. Nothing below imports this file.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { mediaSettingsOf, type ServeConfig } from './config.js';
import { CallpeerError } from './errors.js';
import type { Logger } from './log.js';
import { PcmService, type PcmServiceOptions } from './pcm/service.js';
import { PCM_MAX_FRAME_BYTES } from './protocol/pcm.js';
import { TokenAccess } from './auth/access.js';
import { turnIceServer } from './auth/turn.js';
import type { VerifierKey } from './auth/tokens.js';
import { registerClusterMetrics } from './cluster/cluster-metrics.js';
import { ClusterRoomAdmin } from './cluster/cluster-room-admin.js';
import { ClusterRooms } from './cluster/cluster-rooms.js';
import { ClusterPcm } from './cluster/pcm-relay.js';
import type { ClusterTransport } from './cluster/ports.js';
import { redisTransport } from './cluster/redis-transport.js';
import { OPEN_ACCESS } from './rooms/access.js';
import { CLOSE_GOING_AWAY } from './protocol/close-codes.js';
import { MeshGateway } from './gateway/mesh-gateway.js';
import { MeshRelay } from './rooms/mesh-relay.js';
import { RoomRegistry } from './rooms/registry.js';
import { SfuMetrics } from './sfu/metrics.js';
import { QualityMetrics } from './server/quality-metrics.js';
import type { QualityMessage } from './protocol/signaling.js';
import { SfuRouter, type SfuPeerOptions } from './sfu/router.js';
import { toNdcIceServers } from './rtc/ice-servers.js';
import { releaseClosedPeerNatives } from './rtc/peer.js';
import { ConnectionGuard } from './server/connection-guard.js';
import { ServerMetrics } from './server/metrics.js';
import { isHostAllowed, requestHost } from './server/host-check.js';
import { isOriginAllowed } from './server/origin.js';
import { requestUrl } from './server/request-url.js';
import type { RoomApiContext } from './server/room-api.js';
import { handleRequest } from './server/routes.js';
import { WhipService, type SessionRequest } from './server/whip.js';
import { applySecurityHeaders } from './server/security-headers.js';
import type { SignalingContext } from './signaling/context.js';
import { SignalingSession } from './signaling/session.js';

export interface StartOptions {
  log: Logger;
  /** A socket in no room is closed after this long, ms. Default 30000. */
  joinTimeoutMs?: number;
  /** Options passed to the PCM service (timeouts shortened in tests). */
  pcm?: Omit<PcmServiceOptions, 'log' | 'registry'>;
  /**
   * The clock TURN credentials are dated by, ms since the epoch (default Date.now). A test
   * hands a clock hours in the past to get credentials that are already expired.
   */
  now?: () => number;
  /**
   * Told when a participant's connection quality changes: its score crosses 80, 60 or 40, or
   * its warnings change (PROTOCOL.md "Quality reports"). `previous` is undefined the first time.
   */
  onQualityChange?: (change: { room: string; participant: string; quality: QualityMessage; previous: QualityMessage | undefined }) => void;
  /** Quality rounds, ms (default 2000: the protocol's "at most every 2 s"). Tests shorten it; 0 turns quality reports off. */
  qualityIntervalMs?: number;
  /** This node's id in a cluster (default random). */
  nodeId?: string;
  /** What connects this node to the others when it is a worker of `serve --workers` (else `config.redis` decides). */
  cluster?: ClusterTransport;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** ws(s)://host:port/ws */
  readonly wsUrl: string;
  readonly port: number;
  readonly rooms: RoomRegistry;
  readonly metrics: ServerMetrics;
  /** Stops accepting, closes every socket (1001) and the listener. Resolves within ~2 s. */
  close(): Promise<void>;
}

/** The largest /ws frame we read at all; frames between maxFrameBytes and this are refused with MESSAGE_TOO_LARGE, larger ones close the socket (1009). */
const HARD_FRAME_LIMIT = 1024 * 1024;

/** An HTTPS server, or INVALID_CONFIG naming the files when they are not a PEM certificate and its key. */
function createTlsServer(certFile: string, keyFile: string, options: http.ServerOptions, onRequest: http.RequestListener): https.Server {
  try {
    return https.createServer({ ...options, cert: readFileSync(certFile), key: readFileSync(keyFile) }, onRequest);
  } catch (err) {
    const detail = /key values mismatch/i.test(String(err)) ? 'the key does not belong to the certificate' : 'they are not a PEM certificate and private key';
    throw new CallpeerError('INVALID_CONFIG', `--cert ${certFile} and --key ${keyFile} cannot be used: ${detail}`, {
      cause: err,
      hint: 'give the matching cert.pem and key.pem, or run `callpeer certs` to make a development pair',
    });
  }
}

/** Auth is on when the server has a key to verify tokens with. */
export function authOn(config: Readonly<ServeConfig>): boolean {
  return config.authSecret !== undefined || config.authPublicKey !== undefined;
}

function verifierKey(config: Readonly<ServeConfig>): VerifierKey {
  if (config.authSecret !== undefined) return { secret: config.authSecret };
  try {
    return { publicKeyPem: readFileSync(config.authPublicKey!, 'utf8') };
  } catch (err) {
    throw new CallpeerError('INVALID_CONFIG', `--auth-public-key ${config.authPublicKey} cannot be read`, { cause: err, hint: 'give the PEM file of the token issuer\'s public key' });
  }
}

export async function startServer(config: Readonly<ServeConfig>, options: StartOptions): Promise<RunningServer> {
  // A server outlives every call it hosts: closed calls' native wrappers must not pile up.
  releaseClosedPeerNatives();
  const log = options.log;
  const metrics = new ServerMetrics();
  const startedAt = Date.now();
  let accepting = true;
  const now = options.now ?? Date.now;
  const nodeId = options.nodeId ?? randomBytes(4).toString('hex');
  const access = authOn(config) ? new TokenAccess({ key: verifierKey(config), allowGuests: config.allowGuests }) : undefined;
  // Each member gets its own short-lived TURN credentials (coturn's use-auth-secret), made
  // when asked for: at join for members, when each server Peer is made for the SFU.
  const turn = config.turnUrl !== undefined && config.turnSecret !== undefined
    ? (id: string) => turnIceServer(config.turnUrl!, config.turnSecret!, config.turnTtlSeconds, id, now())
    : undefined;
  const sfuPeer = (memberId: string): SfuPeerOptions => ({
    iceServers: [...config.iceServers, ...(turn ? [turn(`sfu-${memberId}`)] : [])].flatMap(toNdcIceServers),
    ...(config.rtcBind !== undefined && { bindAddress: config.rtcBind }),
    // Tests prove the SFU's media goes through the TURN server (config: needs --turn-url).
    ...(config.rtcRelayOnly && { iceTransportPolicy: 'relay' as const }),
    // The media settings, enforced where the server receives: browsers cap their senders by b=AS/TIAS.
    ...((config.maxVideoBitrateKbps !== undefined || config.audioBitrateKbps !== undefined) && {
      receiveBandwidth: {
        ...(config.maxVideoBitrateKbps !== undefined && { videoKbps: config.maxVideoBitrateKbps }),
        ...(config.audioBitrateKbps !== undefined && { audioKbps: config.audioBitrateKbps }),
      },
    }),
  });
  const sfuMetrics = new SfuMetrics(metrics.registry);
  const qualityMetrics = new QualityMetrics(metrics.registry);
  let participants = 0;
  let cluster: ClusterRooms | undefined;
  const rooms = new RoomRegistry({
    log,
    maxMembers: config.maxMembers,
    topology: config.topology,
    iceServers: (member) => (turn ? [...config.iceServers, turn(member.participant.identity ?? member.id)] : [...config.iceServers]),
    access: access ?? OPEN_ACCESS,
    mediaSettings: mediaSettingsOf(config),
    // The one place that knows the media stacks: each room gets its topology's.
    media: (room) => (room.topology === 'sfu'
      ? new SfuRouter(room.id, {
        log: room.log, peer: sfuPeer, videoCodecs: config.videoCodecs, metrics: sfuMetrics,
        ...(config.maxVideoBitrateKbps !== undefined && { maxVideoBitrateKbps: config.maxVideoBitrateKbps }),
      })
      : new MeshRelay(room, () => new MeshGateway(room, { log: room.log, peer: sfuPeer }))),
    onChange: (r, p) => { metrics.rooms.set(r); metrics.participants.set(p); participants = p; },
    quality: {
      ...(options.qualityIntervalMs !== undefined && { intervalMs: options.qualityIntervalMs }),
      onReading: (room, m) => qualityMetrics.reading(room.id, m),
      ...(options.onQualityChange && { onChange: (room, c) => options.onQualityChange!({ room: room.id, ...c }) }),
    },
    onLeft: (room, id) => qualityMetrics.left(room.id, id),
    onRoomClosed: (room) => { qualityMetrics.roomClosed(room.id); cluster?.roomClosed(room.id); },
  });
  // A node of a cluster (--redis): joins reach rooms wherever they live. Unreachable Redis: no server.
  const transport = options.cluster ?? (config.redis !== undefined ? await redisTransport(config.redis, nodeId, log) : undefined);
  if (transport) cluster = await ClusterRooms.start({ transport, nodeId, rooms, log, load: () => participants });
  const sessions = new Set<SignalingSession>();
  const ctx: SignalingContext = {
    config, rooms, metrics, log,
    join: (roomId, session, request, token) => (cluster ? cluster.join(roomId, session, request, token) : rooms.join(roomId, session, request, token)),
    joinTimeoutMs: options.joinTimeoutMs ?? 30_000,
    sessionClosed: (s) => { sessions.delete(s); metrics.connections.dec({ path: '/ws' }); },
  };
  // In a cluster, PCM clients pair across nodes and reach rooms wherever they live (relayed).
  const pcmCluster = cluster && transport
    ? new ClusterPcm({ transport, nodeId, calls: cluster.calls, placeRoom: (id) => cluster!.place(id), log, registry: metrics.registry })
    : undefined;
  const pcm = new PcmService({
    log: log.child({ service: 'pcm' }), registry: metrics.registry, maxQueuedMs: config.maxQueueMs, ...options.pcm,
    joinRoom: async (roomId, sink, request, token) => {
      await pcmCluster?.roomHere(roomId);
      return rooms.join(roomId, sink, request, token);
    },
    ...(pcmCluster && { pairing: pcmCluster }),
    ...(access && { authorize: (token: string | undefined) => access.authorizeClient(token) }),
  });

  const whip = new WhipService({
    join: (roomId, sink, request, token) => (cluster ? cluster.join(roomId, sink, request, token) : rooms.join(roomId, sink, request, token)),
    // A WHIP/WHEP session's PATCH or DELETE that reached another node is handed to the one holding it.
    ...(cluster && { cluster: { nodeId, forward: (node: string, request: SessionRequest) => cluster!.calls.call<void>(node, 'whip.session', request) } }),
    log: log.child({ component: 'whip' }), registry: metrics.registry,
  });
  cluster?.calls.serve('whip.session', (request: SessionRequest) => whip.sessionRequest(request));
  if (cluster) registerClusterMetrics(metrics.registry, cluster);
  const api: RoomApiContext = {
    // In a cluster the API answers for every node's rooms, whichever node it reached.
    rooms: cluster ? new ClusterRoomAdmin({ cluster, rooms, log }) : rooms,
    openApi: config.openApi,
    ...(access && { authorizeAdmin: (token: string | undefined, roomId?: string) => access.authorizeAdmin(token, roomId) }),
  };
  const tls = config.cert !== undefined && config.key !== undefined;
  const hostAllowed = (req: http.IncomingMessage) => isHostAllowed(requestHost(req, config.trustProxy), config.allowedHosts, config.host);
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    applySecurityHeaders(res);
    if (!hostAllowed(req)) {
      log.warn({ host: requestHost(req, config.trustProxy) }, 'request for a host name this server does not answer to');
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('this server does not answer to that host name (add it with --allowed-host)\n');
      return;
    }
    handleRequest({ staticDir: config.staticDir, rooms, metrics, accepting: () => accepting, startedAt, api, whip }, req, res).catch((err) => {
      log.error({ err, url: req.url }, 'request failed');
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  };
  // Timeouts are checked every second (Node's default: 30 s), so a slow client is cut on time.
  const serverOptions = { headersTimeout: config.headersTimeoutMs, requestTimeout: Math.max(30_000, config.headersTimeoutMs), connectionsCheckingInterval: 1000 };
  const server = tls ? createTlsServer(config.cert!, config.key!, serverOptions, onRequest) : http.createServer(serverOptions, onRequest);
  new ConnectionGuard({
    maxPerIp: config.maxConnectionsPerIp, firstRequestMs: config.headersTimeoutMs, log,
    onRefused: (reason) => metrics.refusedConnections.inc({ reason }),
  }).attach(server);

  const signalingWss = new WebSocketServer({ noServer: true, maxPayload: HARD_FRAME_LIMIT });
  const pcmWss = new WebSocketServer({ noServer: true, maxPayload: PCM_MAX_FRAME_BYTES });

  const refuseUpgrade = (socket: Duplex, status: number, text: string) => {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
  };
  const dispatchUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = requestUrl(req);
    if (!url) return refuseUpgrade(socket, 400, 'Bad Request');
    if (!accepting) return refuseUpgrade(socket, 503, 'Service Unavailable');
    if (!hostAllowed(req)) return refuseUpgrade(socket, 403, 'Forbidden');
    if (!isOriginAllowed(req, config.allowedOrigins, config.trustProxy)) {
      log.warn({ origin: req.headers.origin }, 'websocket from a disallowed origin refused');
      return refuseUpgrade(socket, 403, 'Forbidden');
    }
    if (url.pathname === '/ws') {
      signalingWss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        const session = new SignalingSession(ws, ctx, randomBytes(6).toString('base64url'));
        sessions.add(session);
        metrics.connections.inc({ path: '/ws' });
      });
    } else if (url.pathname === '/ws/pcm' || url.pathname === '/ws/twilio') {
      const path = url.pathname;
      pcmWss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        metrics.connections.inc({ path });
        ws.once('close', () => metrics.connections.dec({ path }));
        pcm.handleConnection(ws, url, path === '/ws/twilio' ? 'twilio' : 'pcm');
      });
    } else {
      refuseUpgrade(socket, 404, 'Not Found');
    }
  };
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node stops watching a socket once it is handed over as an upgrade: a client that resets
    // it before we answer would otherwise be an unhandled 'error' and end the process.
    socket.on('error', (err) => log.debug({ err }, 'upgrade socket error'));
    try {
      dispatchUpgrade(req, socket, head);
    } catch (err) {
      // The last line of defence: nothing a client sends may take the process down.
      log.error({ err, url: req.url }, 'upgrade failed');
      if (socket.writable) refuseUpgrade(socket, 500, 'Internal Server Error');
      else socket.destroy();
    }
  });

  const heartbeat = setInterval(() => { for (const s of sessions) s.heartbeat(); }, config.pingIntervalMs);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(new CallpeerError('ADDRESS_IN_USE', `port ${config.port} on ${config.host} is already in use`, { cause: err, hint: `stop the other server or pick another port: --port ${config.port + 1}` }));
      } else if (err.code === 'EACCES') {
        reject(new CallpeerError('ADDRESS_IN_USE', `not allowed to listen on port ${config.port}`, { cause: err, hint: 'ports below 1024 need root; use --port 8080' }));
      } else {
        reject(new CallpeerError('INVALID_CONFIG', `cannot listen on ${config.host}:${config.port}: ${err.message}`, { cause: err, hint: 'check --host and --port' }));
      }
    };
    const onListening = () => { server.off('error', onError); resolve(); };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(config.port, config.host);
  }).catch(async (err: unknown) => {
    await cluster?.close();
    throw err;
  });

  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `${tls ? 'https' : 'http'}://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
  const wsUrl = `${url.replace(/^http/, 'ws')}/ws`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      accepting = false;
      clearInterval(heartbeat);
      const listenerClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sessions) s.close(CLOSE_GOING_AWAY, 'server shutting down');
      pcm.close();
      pcmCluster?.close();
      rooms.close('shutdown');
      server.closeIdleConnections();
      // Clients get 1 s to finish the close handshake; then sockets are cut.
      const deadline = setTimeout(() => {
        for (const ws of signalingWss.clients) ws.terminate();
        for (const ws of pcmWss.clients) ws.terminate();
        server.closeAllConnections();
      }, 1000);
      await listenerClosed;
      clearTimeout(deadline);
      await cluster?.close();
      signalingWss.close();
      pcmWss.close();
      log.info('server stopped');
    })();
    return closing;
  };

  log.info({ url, tls, maxMembers: config.maxMembers }, 'callpeer listening');
  return { url, wsUrl, port, rooms, metrics, close };
}
