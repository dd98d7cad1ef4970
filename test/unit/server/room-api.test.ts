/** Who may call the room API and read /metrics, decided from the request alone (remote address, bearer). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { MeshRelay } from '../../../src/rooms/mesh-relay.js';
import { RoomRegistry } from '../../../src/rooms/registry.js';
import { ServerMetrics } from '../../../src/server/metrics.js';
import { authorizeApiCall, bearerToken, fromLoopback, type RoomApiContext } from '../../../src/server/room-api.js';
import { handleRequest } from '../../../src/server/routes.js';
import { WhipService } from '../../../src/server/whip.js';

function request(remoteAddress: string, headers: Record<string, string> = {}, url = '/api/rooms', method = 'GET'): IncomingMessage {
  const req = Readable.from([]) as unknown as IncomingMessage;
  Object.assign(req, { url, method, headers: { host: '127.0.0.1', ...headers }, socket: { remoteAddress } });
  return req;
}

/** A response that keeps its status and body. */
function response() {
  const r = { status: 0, body: '', headers: {} as Record<string, unknown> };
  const res = {
    headersSent: false,
    setHeader(k: string, v: unknown) { r.headers[k.toLowerCase()] = v; },
    writeHead(status: number, headers?: Record<string, unknown>) { r.status = status; Object.assign(r.headers, headers); return res; },
    end(body?: string) { r.body = body ?? ''; return res; },
  };
  return { res: res as unknown as ServerResponse, r };
}

const rooms = new RoomRegistry({ log: silentLogger(), maxMembers: 8, media: (room) => new MeshRelay(room) });

describe('room API access', () => {
  it('knows loopback addresses, IPv4-mapped ones included', () => {
    for (const a of ['127.0.0.1', '127.8.9.1', '::1', '::ffff:127.0.0.1']) expect(fromLoopback(request(a)), a).toBe(true);
    for (const a of ['192.0.2.10', '::ffff:192.0.2.10', '2001:db8::1', '']) expect(fromLoopback(request(a)), a).toBe(false);
  });

  it('reads a bearer token, nothing else', () => {
    expect(bearerToken(request('::1', { authorization: 'Bearer abc.def.ghi' }))).toBe('abc.def.ghi');
    expect(bearerToken(request('::1', { authorization: 'Basic abc' }))).toBeUndefined();
    expect(bearerToken(request('::1'))).toBeUndefined();
  });

  it('auth off: loopback callers only, unless --open-api', async () => {
    const ctx: RoomApiContext = { rooms, openApi: false };
    await expect(authorizeApiCall(ctx, request('127.0.0.1'))).resolves.toBeUndefined();
    await expect(authorizeApiCall(ctx, request('192.0.2.10'))).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(authorizeApiCall({ ...ctx, openApi: true }, request('192.0.2.10'))).resolves.toBeUndefined();
  });

  it('auth on: the token decides, from loopback too', async () => {
    const seen: (string | undefined)[] = [];
    const ctx: RoomApiContext = { rooms, openApi: true, authorizeAdmin: async (t) => { seen.push(t); if (t !== 'good') throw Object.assign(new Error('no'), { code: 'UNAUTHORIZED' }); } };
    await expect(authorizeApiCall(ctx, request('127.0.0.1'))).rejects.toThrow();
    await expect(authorizeApiCall(ctx, request('192.0.2.10', { authorization: 'Bearer good' }))).resolves.toBeUndefined();
    expect(seen).toEqual([undefined, 'good']);
  });
});

describe('nothing disclosed to an unauthenticated remote client with auth on', () => {
  const api: RoomApiContext = { rooms, openApi: false, authorizeAdmin: async (t) => { if (t !== 'good') throw new (await import('../../../src/errors.js')).CallpeerError('UNAUTHORIZED', 'needs an admin token'); } };
  const route = (req: IncomingMessage) => {
    const { res, r } = response();
    return handleRequest({ staticDir: '/nonexistent', rooms, metrics: new ServerMetrics(), accepting: () => true, startedAt: Date.now(), api, whip: new WhipService({ join: (id, sink, request, token) => rooms.join(id, sink, request, token), log: silentLogger() }) }, req, res).then(() => r);
  };

  it('/api/rooms and /metrics answer 401 with no data; with the token, 200', async () => {
    for (const url of ['/api/rooms', '/metrics']) {
      const denied = await route(request('192.0.2.10', {}, url));
      expect(denied.status, url).toBe(401);
      expect(JSON.parse(denied.body)).toEqual({ error: { code: 'UNAUTHORIZED', message: 'needs an admin token' } });
      expect((await route(request('192.0.2.10', { authorization: 'Bearer good' }, url))).status, url).toBe(200);
    }
    // A scraper on this machine needs no token for /metrics.
    expect((await route(request('127.0.0.1', {}, '/metrics'))).status).toBe(200);
  });
});
