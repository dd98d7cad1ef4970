/**
 * The room API (docs/PROTOCOL.md, "Auth, roles and the room API"): JSON over HTTP to create,
 * list, inspect and delete rooms, kick and mute members. Auth on: every call needs an admin
 * token (`Authorization: Bearer`). Auth off: loopback callers only, unless `--open-api`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CallpeerError, toCallpeerError, type ErrorCode } from '../errors.js';
import { isObject } from '../protocol/validate.js';
import { readBody } from './body.js';
import { decodePathSegment } from './request-url.js';
import { isValidRoomId, MAX_NAME_LENGTH, TOPOLOGIES, type Topology } from '../protocol/signaling.js';
import type { MediaKinds } from '../rooms/member.js';
import type { RoomSpec } from '../rooms/registry.js';
import type { RoomAdmin } from '../rooms/room-admin.js';

export interface RoomApiContext {
  /** This process's rooms, or in a cluster every node's. */
  rooms: RoomAdmin;
  /** Auth on: checks a bearer token grants admin (for a room, when one is named). */
  authorizeAdmin?: (token: string | undefined, roomId?: string) => Promise<void>;
  /** Auth off: answer callers that are not on loopback too. */
  openApi: boolean;
}

/** The largest request body read, bytes. */
const MAX_BODY_BYTES = 16 * 1024;
const STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHORIZED: 401, ROOM_NOT_FOUND: 404, PEER_NOT_FOUND: 404, ROOM_EXISTS: 409, INVALID_MESSAGE: 400, MESSAGE_TOO_LARGE: 413,
};

export function sendJson(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, { ...headers, 'cache-control': 'no-store' }).end();
    return;
  }
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/** Whether a request comes from this machine. */
export function fromLoopback(req: IncomingMessage): boolean {
  const a = req.socket.remoteAddress ?? '';
  return a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');
}

/** The token of `Authorization: Bearer <token>`, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/**
 * Who may call: an admin token when auth is on, else loopback (or anyone with --open-api).
 * Throws UNAUTHORIZED.
 */
export async function authorizeApiCall(ctx: RoomApiContext, req: IncomingMessage, roomId?: string): Promise<void> {
  if (ctx.authorizeAdmin) return ctx.authorizeAdmin(bearerToken(req), roomId);
  if (!ctx.openApi && !fromLoopback(req)) {
    throw new CallpeerError('UNAUTHORIZED', 'the room API answers this machine only; start the server with --open-api, or turn auth on');
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new CallpeerError('INVALID_MESSAGE', 'the body is not JSON');
  }
  if (!isObject(value)) throw new CallpeerError('INVALID_MESSAGE', 'the body must be a JSON object');
  return value;
}

function bad(message: string): never {
  throw new CallpeerError('INVALID_MESSAGE', message);
}

function roomSpec(b: Record<string, unknown>, defaultMax: { max: number }): RoomSpec {
  if (!isValidRoomId(b.id)) bad('"id" must match ^[A-Za-z0-9_-]{1,64}$');
  const spec: RoomSpec = { id: b.id };
  if (b.topology !== undefined) {
    if (!(TOPOLOGIES as readonly unknown[]).includes(b.topology)) bad(`"topology" must be one of ${TOPOLOGIES.join(', ')}`);
    spec.topology = b.topology as Topology;
  }
  if (b.maxMembers !== undefined) {
    if (!Number.isInteger(b.maxMembers) || (b.maxMembers as number) < 1 || (b.maxMembers as number) > defaultMax.max) bad(`"maxMembers" must be a whole number from 1 to ${defaultMax.max}`);
    spec.maxMembers = b.maxMembers as number;
  }
  if (b.name !== undefined) {
    if (typeof b.name !== 'string' || b.name.length > MAX_NAME_LENGTH) bad(`"name" must be a string of at most ${MAX_NAME_LENGTH} characters`);
    spec.name = b.name;
  }
  return spec;
}

function muteKinds(b: Record<string, unknown>): MediaKinds {
  const kinds: MediaKinds = {};
  for (const k of ['audio', 'video', 'screen'] as const) {
    if (b[k] === undefined) continue;
    if (b[k] !== false) bad(`"${k}" can only be false: the server mutes, the member unmutes itself`);
    kinds[k] = false;
  }
  if (Object.keys(kinds).length === 0) bad('say what to mute: {"audio": false}, "video" or "screen"');
  return kinds;
}

/**
 * Answers a request under /api/rooms. Errors are `{"error":{"code","message"}}` with the
 * status of their code.
 */
export async function handleRoomApi(ctx: RoomApiContext, req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
  const method = req.method ?? 'GET';
  const parts = pathname.split('/').slice(3).map(decodePathSegment);
  const [roomId, sub, memberId, action] = parts;
  try {
    await authorizeApiCall(ctx, req, roomId);
    if (parts.length === 0 || (parts.length === 1 && roomId === '')) {
      if (method === 'GET' || method === 'HEAD') return sendJson(res, 200, { rooms: await ctx.rooms.list() });
      if (method === 'POST') {
        const created = await ctx.rooms.create(roomSpec(await readJson(req), { max: 1000 }));
        if (!created) throw new CallpeerError('ROOM_EXISTS', 'a room with that id exists already');
        return sendJson(res, 201, created);
      }
      return notAllowed(res, 'GET, POST');
    }
    if (parts.length === 1) {
      if (method === 'GET' || method === 'HEAD') {
        const room = await ctx.rooms.snapshot(roomId!);
        if (!room) throw new CallpeerError('ROOM_NOT_FOUND', `no room "${roomId}"`);
        return sendJson(res, 200, room);
      }
      if (method === 'DELETE') {
        if (!(await ctx.rooms.delete(roomId!))) throw new CallpeerError('ROOM_NOT_FOUND', `no room "${roomId}"`);
        return sendJson(res, 204);
      }
      return notAllowed(res, 'GET, DELETE');
    }
    if (parts.length === 4 && sub === 'participants' && (action === 'kick' || action === 'mute')) {
      if (method !== 'POST') return notAllowed(res, 'POST');
      const body = await readJson(req);
      if (!(await ctx.rooms.has(roomId!))) throw new CallpeerError('ROOM_NOT_FOUND', `no room "${roomId}"`);
      let done: boolean;
      if (action === 'kick') {
        if (body.reason !== undefined && (typeof body.reason !== 'string' || body.reason.length > 256)) bad('"reason" must be a string of at most 256 characters');
        done = await ctx.rooms.kick(roomId!, memberId!, (body.reason as string | undefined) ?? 'removed by a moderator');
      } else {
        done = await ctx.rooms.mute(roomId!, memberId!, muteKinds(body));
      }
      if (!done) throw new CallpeerError('PEER_NOT_FOUND', `no participant "${memberId}" in room "${roomId}"`);
      return sendJson(res, 204);
    }
    sendJson(res, 404, { error: { code: 'INVALID_MESSAGE', message: 'no such API route: see /api/rooms in docs/PROTOCOL.md' } });
  } catch (err) {
    const e = toCallpeerError(err);
    sendJson(res, STATUS[e.code] ?? 500, { error: { code: e.code, message: e.message } });
  }
}

/** 405 with `Allow` and the protocol's error body. */
export function notAllowed(res: ServerResponse, allow: string, headers: Record<string, string> = {}): void {
  sendJson(res, 405, { error: { code: 'INVALID_MESSAGE', message: `use ${allow}` } }, { ...headers, allow });
}
