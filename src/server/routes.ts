import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RoomRegistry } from '../rooms/registry.js';
import { isValidRoomId } from '../protocol/signaling.js';
import { toCallpeerError } from '../errors.js';
import type { ServerMetrics } from './metrics.js';
import { decodePathSegment, requestUrl } from './request-url.js';
import { authorizeApiCall, fromLoopback, handleRoomApi, sendJson, type RoomApiContext } from './room-api.js';
import { serveStatic } from './static-files.js';
import type { WhipService } from './whip.js';

export interface RouteContext {
  staticDir: string;
  rooms: RoomRegistry;
  metrics: ServerMetrics;
  /** False once shutdown began: /healthz then answers 503. */
  accepting: () => boolean;
  startedAt: number;
  /** Who may use the room API (and, with auth on, read /metrics from elsewhere). */
  api: RoomApiContext;
  /** WHIP ingest and WHEP egress: /whip/<room>, /whep/<room>. */
  whip: WhipService;
}

/** The HTTP surface of PROTOCOL.md: pages, health, rooms, metrics, static files. */
export async function handleRequest(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const url = requestUrl(req);
  if (!url) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('bad request: the URL does not parse\n');
    return;
  }
  const pathname = url.pathname;
  if (pathname === '/api/rooms' || pathname.startsWith('/api/rooms/')) return handleRoomApi(ctx.api, req, res, pathname);
  if (pathname.startsWith('/whip/') || pathname.startsWith('/whep/')) return ctx.whip.handle(req, res, url);
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  const head = method === 'HEAD';

  if (pathname === '/healthz') {
    const ok = ctx.accepting();
    sendJson(res, ok ? 200 : 503, { ok, uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000), rooms: ctx.rooms.size });
    return;
  }
  if (pathname === '/metrics') {
    // With auth on, a scraper elsewhere shows an admin token; this machine needs none.
    if (ctx.api.authorizeAdmin && !fromLoopback(req)) {
      try {
        await authorizeApiCall(ctx.api, req);
      } catch (err) {
        const e = toCallpeerError(err);
        sendJson(res, 401, { error: { code: e.code, message: e.message } });
        return;
      }
    }
    const body = await ctx.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': ctx.metrics.registry.contentType }).end(head ? undefined : body);
    return;
  }
  if (pathname === '/') return serveStatic(ctx.staticDir, '/index.html', res, head);
  if (pathname === '/duo') return serveStatic(ctx.staticDir, '/duo.html', res, head);
  const room = /^\/r\/([^/]+)\/?$/.exec(pathname);
  if (room) {
    if (!isValidRoomId(decodePathSegment(room[1]!))) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('room names use letters, digits, "-" and "_" (1-64 characters)\n');
      return;
    }
    return serveStatic(ctx.staticDir, '/call.html', res, head);
  }
  return serveStatic(ctx.staticDir, pathname, res, head);
}

