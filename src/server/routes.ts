import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RoomRegistry } from '../rooms/registry.js';
import { isValidRoomId } from '../protocol/signaling.js';
import type { ServerMetrics } from './metrics.js';
import { requestUrl } from './request-url.js';
import { serveStatic } from './static-files.js';

export interface RouteContext {
  staticDir: string;
  rooms: RoomRegistry;
  metrics: ServerMetrics;
  /** False once shutdown began: /healthz then answers 503. */
  accepting: () => boolean;
  startedAt: number;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(text);
}

/** The HTTP surface of PROTOCOL.md: pages, health, rooms, metrics, static files. */
export async function handleRequest(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  const head = method === 'HEAD';
  const url = requestUrl(req);
  if (!url) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' }).end('bad request: the URL does not parse\n');
    return;
  }
  const pathname = url.pathname;

  if (pathname === '/healthz') {
    const ok = ctx.accepting();
    json(res, ok ? 200 : 503, { ok, uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000), rooms: ctx.rooms.size });
    return;
  }
  if (pathname === '/api/rooms') {
    json(res, 200, { rooms: await ctx.rooms.list() });
    return;
  }
  if (pathname === '/metrics') {
    const body = await ctx.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': ctx.metrics.registry.contentType }).end(head ? undefined : body);
    return;
  }
  if (pathname === '/') return serveStatic(ctx.staticDir, '/index.html', res, head);
  if (pathname === '/duo') return serveStatic(ctx.staticDir, '/duo.html', res, head);
  const room = /^\/r\/([^/]+)\/?$/.exec(pathname);
  if (room) {
    if (!isValidRoomId(decodeURIComponentSafe(room[1]!))) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('room names use letters, digits, "-" and "_" (1-64 characters)\n');
      return;
    }
    return serveStatic(ctx.staticDir, '/call.html', res, head);
  }
  return serveStatic(ctx.staticDir, pathname, res, head);
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return '';
  }
}
