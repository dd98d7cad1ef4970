/** Auth on: tokens on /ws, guests, the room API, over real sockets. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { mintToken } from '../../src/auth/tokens.js';
import { Probe, startTestServer } from '../helpers/server.js';
import { PcmProbe } from './pcm-harness.js';
import { handMadeJwt } from '../helpers/jwt.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const now = () => Math.floor(Date.now() / 1000);
const token = (claims: Record<string, unknown>) => handMadeJwt({ exp: now() + 600, ...claims }, SECRET);
const admin = token({ sub: 'root', roles: ['admin'] });

let server: RunningServer;
beforeAll(async () => { server = await startTestServer({ authSecret: SECRET }); });
afterAll(() => server.close());

async function api(method: string, path: string, { body, bearer }: { body?: unknown; bearer?: string } = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(bearer && { authorization: `Bearer ${bearer}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('joining with auth on', () => {
  it('rooms do not spring into being: a valid non-admin token gets ROOM_NOT_FOUND, an admin token opens the room', async () => {
    const p = await Probe.open(server.wsUrl);
    p.send({ type: 'join', room: 'fresh', token: token({ sub: 'ada' }) });
    expect(await p.next('error')).toMatchObject({ code: 'ROOM_NOT_FOUND', ref: 'join' });
    p.send({ type: 'join', room: 'fresh', token: admin });
    expect((await p.next('joined')).room.id).toBe('fresh');
    p.close();
  });

  it.each([
    ['no token', undefined, /needs a token/],
    ['a bad signature', handMadeJwt({ sub: 'a', exp: now() + 60 }, 'not-the-secret-but-as-long-as-it!!'), /signature/],
    ['an expired token', token({ sub: 'a', exp: now() - 120 }), /expired/],
    ['a token not valid yet', token({ sub: 'a', nbf: now() + 300 }), /not valid yet/],
    ['a token for another room', token({ sub: 'a', room: 'elsewhere' }), /another room/],
    ['a role the token does not grant', token({ sub: 'a', roles: ['participant'] }), /role "recorder"/],
  ])('refuses %s with UNAUTHORIZED saying so, and the socket stays', async (_name, t, message) => {
    await api('POST', '/api/rooms', { bearer: admin, body: { id: 'locked' } });
    const p = await Probe.open(server.wsUrl);
    p.send({ type: 'join', room: 'locked', role: 'recorder', ...(t && { token: t }) });
    const err = await p.next('error');
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', ref: 'join' });
    expect(err.message).toMatch(message);
    p.send({ type: 'ping' });
    await p.next('pong');
    p.close();
  });

  it('the token\'s name wins over join.name; identity is on the participant; guest is false', async () => {
    await api('POST', '/api/rooms', { bearer: admin, body: { id: 'named' } });
    const a = await Probe.open(server.wsUrl);
    await a.join('named', { token: token({ sub: 'u-1', name: 'Ada Lovelace' }), name: 'Mallory' });
    const b = await Probe.open(server.wsUrl);
    const jb = await b.join('named', { token: token({ sub: 'u-2', room: 'named', publish: false }) });
    expect(jb.participants[0]).toMatchObject({ name: 'Ada Lovelace', identity: 'u-1', guest: false });
    const seen = await a.next('peer-joined');
    expect(seen.participant).toMatchObject({ identity: 'u-2', guest: false, canPublish: false });
    a.close();
    b.close();
  });

  it('a token from mintToken (what `callpeer token` prints) works', async () => {
    const t = await mintToken({ secret: SECRET, identity: 'minted', room: '*', roles: ['admin'], ttlSeconds: 60 });
    const p = await Probe.open(server.wsUrl);
    expect((await p.join('minted-room', { token: t })).room.id).toBe('minted-room');
    p.close();
  });

  it('five refused joins in a row close the socket with 1008', async () => {
    const p = await Probe.open(server.wsUrl);
    for (let i = 0; i < 5; i++) {
      p.send({ type: 'join', room: 'locked', token: 'x.y.z' });
      expect(await p.next('error')).toMatchObject({ code: 'UNAUTHORIZED' });
    }
    expect((await p.closed).code).toBe(1008);
  });
});

describe('/ws/pcm with auth on', () => {
  it('pairs clients with a valid token; one without, or with a bad one, gets UNAUTHORIZED and 1008', async () => {
    const good = token({ sub: 'caller' });
    const a = await PcmProbe.open(server, { pair: 'authed', token: good });
    const b = await PcmProbe.open(server, { pair: 'authed', token: good });
    await a.waitFor('connected');
    for (const query of [{ pair: 'authed2' }, { pair: 'authed2', token: 'x.y.z' }] as Record<string, string>[]) {
      const c = await PcmProbe.open(server, query);
      expect(await c.closed).toBe(1008);
      expect(c.messages).toEqual([expect.objectContaining({ type: 'error', code: 'UNAUTHORIZED' })]);
    }
    a.close();
    b.close();
  });
});

describe('guests', () => {
  it('with --allow-guests a join without a token is a guest participant, never a recorder', async () => {
    const s = await startTestServer({ authSecret: SECRET, allowGuests: true });
    try {
      await fetch(`${s.url}/api/rooms`, { method: 'POST', headers: { authorization: `Bearer ${admin}` }, body: JSON.stringify({ id: 'open-house' }) });
      const g = await Probe.open(s.wsUrl);
      await g.join('open-house', { name: 'Visitor' });
      const h = await Probe.open(s.wsUrl);
      const jh = await h.join('open-house');
      expect(jh.participants[0]).toMatchObject({ name: 'Visitor', guest: true });
      expect(jh.participants[0].identity).toBeUndefined();
      const r = await Probe.open(s.wsUrl);
      r.send({ type: 'join', room: 'open-house', role: 'recorder' });
      expect(await r.next('error')).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/guests/) });
      for (const p of [g, h, r]) p.close();
    } finally {
      await s.close();
    }
  });
});

describe('the room API', () => {
  it('needs an admin bearer token: none, a bad one and a non-admin one get 401 with a protocol code', async () => {
    for (const bearer of [undefined, 'garbage', token({ sub: 'ada' })]) {
      const r = await api('GET', '/api/rooms', { ...(bearer && { bearer }) });
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('UNAUTHORIZED');
    }
    expect((await api('GET', '/api/rooms', { bearer: admin })).status).toBe(200);
  });

  it('creates (201, per-room topology and capacity), refuses a duplicate (409) and bad fields (400), gets (200/404) and lists', async () => {
    const created = await api('POST', '/api/rooms', { bearer: admin, body: { id: 'api-sfu', topology: 'sfu', maxMembers: 3, name: 'Stand-up' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'api-sfu', topology: 'sfu', maxMembers: 3, name: 'Stand-up', participants: [] });
    expect((await api('POST', '/api/rooms', { bearer: admin, body: { id: 'api-sfu' } })).body.error.code).toBe('ROOM_EXISTS');
    for (const body of [{ id: 'bad id' }, { id: 'x', topology: 'star' }, { id: 'x', maxMembers: 0 }, { id: 'x', name: 7 }, '[1]', '{nope']) {
      const r = await api('POST', '/api/rooms', { bearer: admin, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('INVALID_MESSAGE');
    }
    expect((await api('GET', '/api/rooms/api-sfu', { bearer: admin })).body.topology).toBe('sfu');
    expect((await api('GET', '/api/rooms/nope', { bearer: admin })).status).toBe(404);
    expect((await api('GET', '/api/rooms', { bearer: admin })).body.rooms.map((r: { id: string }) => r.id)).toContain('api-sfu');
    // the room's own topology, whatever the server default
    const p = await Probe.open(server.wsUrl);
    expect((await p.join('api-sfu', { token: token({ sub: 'z' }) })).room).toMatchObject({ id: 'api-sfu', topology: 'sfu', maxMembers: 3 });
    p.close();
  });

  it('kick: the member gets kicked and is removed, the others get peer-left; mute: muted-by-server and peer-updated', async () => {
    await api('POST', '/api/rooms', { bearer: admin, body: { id: 'moderated' } });
    const a = await Probe.open(server.wsUrl);
    const ja = await a.join('moderated', { token: token({ sub: 'a' }), audio: true });
    const b = await Probe.open(server.wsUrl);
    await b.join('moderated', { token: token({ sub: 'b' }) });
    expect((await api('POST', `/api/rooms/moderated/participants/${ja.id}/mute`, { bearer: admin, body: { audio: false } })).status).toBe(204);
    expect(await a.next('muted-by-server')).toEqual({ type: 'muted-by-server', audio: false });
    expect((await b.next('peer-updated')).participant).toMatchObject({ id: ja.id, audio: false });
    expect((await api('POST', `/api/rooms/moderated/participants/${ja.id}/mute`, { bearer: admin, body: { audio: true } })).status).toBe(400);
    expect((await api('POST', `/api/rooms/moderated/participants/${ja.id}/kick`, { bearer: admin, body: { reason: 'spam' } })).status).toBe(204);
    expect(await a.next('kicked')).toEqual({ type: 'kicked', reason: 'spam' });
    expect(await b.next('peer-left')).toEqual({ type: 'peer-left', id: ja.id });
    expect((await api('POST', `/api/rooms/moderated/participants/${ja.id}/kick`, { bearer: admin })).body.error.code).toBe('PEER_NOT_FOUND');
    expect((await api('POST', '/api/rooms/nowhere/participants/x/kick', { bearer: admin })).body.error.code).toBe('ROOM_NOT_FOUND');
    a.close();
    b.close();
  });

  it('delete: every member gets room-closed {reason: "deleted"}, then its socket is closed with 1000; the room is gone', async () => {
    await api('POST', '/api/rooms', { bearer: admin, body: { id: 'doomed' } });
    const members = await Promise.all([0, 1].map(async (i) => {
      const p = await Probe.open(server.wsUrl);
      await p.join('doomed', { token: token({ sub: `m${i}` }) });
      return p;
    }));
    expect((await api('DELETE', '/api/rooms/doomed', { bearer: admin })).status).toBe(204);
    for (const p of members) {
      expect(await p.next('room-closed')).toEqual({ type: 'room-closed', reason: 'deleted' });
      expect((await p.closed).code).toBe(1000);
    }
    expect((await api('GET', '/api/rooms/doomed', { bearer: admin })).status).toBe(404);
    expect((await api('DELETE', '/api/rooms/doomed', { bearer: admin })).status).toBe(404);
  });

  it('a room made by the API stays when its last member leaves', async () => {
    await api('POST', '/api/rooms', { bearer: admin, body: { id: 'lasting' } });
    const p = await Probe.open(server.wsUrl);
    await p.join('lasting', { token: token({ sub: 'x' }) });
    p.send({ type: 'leave' });
    await new Promise((r) => setTimeout(r, 50));
    expect((await api('GET', '/api/rooms/lasting', { bearer: admin })).body.participants).toEqual([]);
    p.close();
  });
});

describe('the room API with auth off', () => {
  it('answers loopback callers without a token', async () => {
    const s = await startTestServer();
    try {
      const r = await fetch(`${s.url}/api/rooms`, { method: 'POST', body: JSON.stringify({ id: 'local', topology: 'sfu' }) });
      expect(r.status).toBe(201);
      const p = await Probe.open(s.wsUrl);
      expect((await p.join('local')).room.topology).toBe('sfu');
      p.close();
    } finally {
      await s.close();
    }
  });
});
