import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { Probe, startTestServer } from '../helpers/server.js';

const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
let server: RunningServer;
let seq = 0;
const room = () => `room-${++seq}`;

beforeAll(async () => {
  server = await startTestServer({ maxMembers: 3, iceServer: ['stun:stun.example.test:3478', 'turn:alice:s3cret@turn.example.test:3478'] });
});
afterAll(() => server.close());

describe('joining and leaving', () => {
  it('join answers joined with an id, the room, nobody else and the configured ICE servers', async () => {
    const a = await Probe.open(server.wsUrl);
    const r = room();
    const joined = await a.join(r, { name: 'Ada', audio: true });
    expect(joined.id).toMatch(/^[A-Za-z0-9_-]+$/);
    // The server's media settings come along (here its defaults: no ceilings).
    expect(joined.room).toEqual({ id: r, topology: 'mesh', maxMembers: 3, media: { videoCodecs: ['VP8', 'H264'], simulcast: true } });
    expect(joined.participants).toEqual([]);
    expect(joined.iceServers).toEqual([
      { urls: 'stun:stun.example.test:3478' },
      { urls: 'turn:turn.example.test:3478', username: 'alice', credential: 's3cret' },
    ]);
    a.close();
  });

  it('a newcomer sees who is there and they see the newcomer', async () => {
    const r = room();
    const a = await Probe.open(server.wsUrl);
    const ja = await a.join(r, { name: 'Ada', video: true, metadata: { lang: 'en' } });
    const b = await Probe.open(server.wsUrl);
    const jb = await b.join(r, { name: 'Bob', role: 'bot' });
    expect(jb.participants).toEqual([{ id: ja.id, name: 'Ada', role: 'participant', audio: false, video: true, screen: false, metadata: { lang: 'en' }, guest: false }]);
    const pj = await a.next('peer-joined');
    expect(pj.participant).toMatchObject({ id: jb.id, name: 'Bob', role: 'bot' });
    b.send({ type: 'leave' });
    expect((await a.next('peer-left')).id).toBe(jb.id);
    // the socket stays open and can join again; the id belongs to the connection and stays
    const again = await b.join(r);
    expect(again.id).toBe(jb.id);
    expect(again.participants.map((p: any) => p.id)).toEqual([ja.id]);
    a.close();
    b.close();
  });

  it('a closed socket leaves its room and the others are told', async () => {
    const r = room();
    const a = await Probe.open(server.wsUrl);
    await a.join(r);
    const b = await Probe.open(server.wsUrl);
    const jb = await b.join(r);
    await a.next('peer-joined');
    b.ws.terminate();
    expect((await a.next('peer-left')).id).toBe(jb.id);
    a.close();
  });

  it('join with a full room answers ROOM_FULL and keeps the socket', async () => {
    const r = room();
    const probes = await Promise.all([1, 2, 3].map(() => Probe.open(server.wsUrl)));
    for (const p of probes) await p.join(r);
    const late = await Probe.open(server.wsUrl);
    late.send({ type: 'join', room: r });
    const err = await late.next('error');
    expect(err).toMatchObject({ code: 'ROOM_FULL', ref: 'join' });
    late.send({ type: 'ping', id: 'still-here' });
    expect((await late.next('pong')).id).toBe('still-here');
    for (const p of [...probes, late]) p.close();
  });

  it('a second join answers ALREADY_JOINED', async () => {
    const a = await Probe.open(server.wsUrl);
    await a.join(room());
    a.send({ type: 'join', room: room() });
    expect(await a.next('error')).toMatchObject({ code: 'ALREADY_JOINED', ref: 'join' });
    a.close();
  });

  it('an invalid room name answers INVALID_MESSAGE', async () => {
    const a = await Probe.open(server.wsUrl);
    a.send({ type: 'join', room: '../etc' });
    expect(await a.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', ref: 'join' });
    a.close();
  });
});

describe('relaying', () => {
  async function pair() {
    const r = room();
    const a = await Probe.open(server.wsUrl);
    const ja = await a.join(r, { name: 'Ada' });
    const b = await Probe.open(server.wsUrl);
    const jb = await b.join(r, { name: 'Bob' });
    await a.next('peer-joined');
    return { a, b, aId: ja.id as string, bId: jb.id as string };
  }

  it('offer, answer and candidate reach only the addressee, with from and without unknown fields', async () => {
    const { a, b, aId, bId } = await pair();
    const c = await Probe.open(server.wsUrl);
    await c.join(room());
    b.send({ type: 'offer', to: aId, sdp: SDP, extra: 'dropped' });
    expect(await a.next('offer')).toEqual({ type: 'offer', from: bId, sdp: SDP });
    a.send({ type: 'answer', to: bId, sdp: SDP });
    expect(await b.next('answer')).toEqual({ type: 'answer', from: aId, sdp: SDP });
    a.send({ type: 'candidate', to: bId, candidate: 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host', mid: '0' });
    expect(await b.next('candidate')).toEqual({ type: 'candidate', from: aId, candidate: 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host', mid: '0' });
    b.send({ type: 'candidate', to: aId, candidate: '', mid: '0' });
    expect((await a.next('candidate')).candidate).toBe('');
    expect(await c.none('offer')).toBe(true);
    for (const p of [a, b, c]) p.close();
  });

  it('a message to someone not in the room answers PEER_NOT_FOUND', async () => {
    const { a, b } = await pair();
    a.send({ type: 'offer', to: 'nobody', sdp: SDP });
    expect(await a.next('error')).toMatchObject({ code: 'PEER_NOT_FOUND', ref: 'offer' });
    a.close();
    b.close();
  });

  it('an offer without "to" in a mesh room answers SFU_NOT_ENABLED, as do SFU messages', async () => {
    const { a, b } = await pair();
    a.send({ type: 'offer', sdp: SDP });
    expect(await a.next('error')).toMatchObject({ code: 'SFU_NOT_ENABLED', ref: 'offer' });
    a.send({ type: 'subscribe', publisher: 'x', track: 'y' });
    expect(await a.next('error')).toMatchObject({ code: 'SFU_NOT_ENABLED', ref: 'subscribe' });
    a.send({ type: 'layer', track: 'y', quality: 'low' });
    expect(await a.next('error')).toMatchObject({ code: 'SFU_NOT_ENABLED', ref: 'layer' });
    a.close();
    b.close();
  });

  it('an offer that is not SDP answers INVALID_SDP', async () => {
    const { a, b, bId } = await pair();
    a.send({ type: 'offer', to: bId, sdp: 'hello' });
    expect(await a.next('error')).toMatchObject({ code: 'INVALID_SDP', ref: 'offer' });
    a.close();
    b.close();
  });

  it('media state goes to the others as peer-updated', async () => {
    const { a, b, aId } = await pair();
    a.send({ type: 'media', audio: true, screen: true });
    const upd = await b.next('peer-updated');
    expect(upd.participant).toMatchObject({ id: aId, name: 'Ada', audio: true, video: false, screen: true });
    expect(await a.none('peer-updated')).toBe(true);
    a.close();
    b.close();
  });

  it('chat reaches everyone, the sender too, with name and server time', async () => {
    const { a, b, aId } = await pair();
    const before = Date.now();
    a.send({ type: 'chat', text: 'hello there' });
    for (const p of [a, b]) {
      const line = await p.next('chat');
      expect(line).toMatchObject({ from: aId, name: 'Ada', text: 'hello there' });
      expect(line.ts).toBeGreaterThanOrEqual(before);
    }
    a.send({ type: 'chat', text: '' });
    expect(await a.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', ref: 'chat' });
    a.close();
    b.close();
  });
});

describe('refusals', () => {
  it('messages before join answer NOT_IN_ROOM; ping works anyway', async () => {
    const a = await Probe.open(server.wsUrl);
    for (const msg of [{ type: 'offer', to: 'x', sdp: SDP }, { type: 'chat', text: 'hi' }, { type: 'media', audio: true }, { type: 'leave' }]) {
      a.send(msg);
      expect(await a.next('error')).toMatchObject({ code: 'NOT_IN_ROOM', ref: msg.type });
    }
    a.send({ type: 'ping', id: 42 });
    expect(await a.next('pong')).toEqual({ type: 'pong', id: 42 });
    a.close();
  });

  it.each([
    ['not JSON', '{nope', undefined],
    ['a JSON array', '[1,2]', undefined],
    ['no type', '{"room":"x"}', undefined],
    ['an unknown type', '{"type":"dance"}', 'dance'],
    ['a wrong field type', '{"type":"join","room":7}', 'join'],
    ['a bad role', '{"type":"join","room":"r","role":"admin"}', 'join'],
  ])('%s answers INVALID_MESSAGE and keeps the socket', async (_name, frame, ref) => {
    const a = await Probe.open(server.wsUrl);
    a.send(frame);
    const err = await a.next('error');
    expect(err.code).toBe('INVALID_MESSAGE');
    expect(err.ref).toBe(ref);
    a.send({ type: 'ping' });
    await a.next('pong');
    a.close();
  });

  it('join.metadata nested thousands deep answers INVALID_MESSAGE, counts toward the abuse limit, and closes with 1008 when repeated', async () => {
    const s = await startTestServer({ abuseLimit: 5 });
    const a = await Probe.open(s.wsUrl);
    const deep = `{"type":"join","room":"deep","metadata":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
    a.send(deep);
    const err = await a.next('error');
    expect(err).toMatchObject({ code: 'INVALID_MESSAGE', ref: 'join' });
    expect(err.message).toMatch(/nest/);
    for (let i = 0; i < 10; i++) a.send(deep);
    expect((await a.closed).code).toBe(1008);
    // 17 levels is refused too; 16 is the limit and joins
    const b = await Probe.open(s.wsUrl);
    const nest = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    b.send(`{"type":"join","room":"deep","metadata":${nest(17)}}`);
    expect((await b.next('error')).code).toBe('INVALID_MESSAGE');
    b.send(`{"type":"join","room":"deep","metadata":${nest(16)}}`);
    expect((await b.next('joined')).room.id).toBe('deep');
    b.close();
    await s.close();
  });

  it('a text frame that is not UTF-8 fails the connection with 1007 (RFC 6455)', async () => {
    const a = await Probe.open(server.wsUrl);
    await a.join(room());
    a.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await a.closed).code).toBe(1007);
  });

  it('a binary frame answers INVALID_MESSAGE', async () => {
    const a = await Probe.open(server.wsUrl);
    a.ws.send(Buffer.from([1, 2, 3]));
    expect((await a.next('error')).code).toBe('INVALID_MESSAGE');
    a.close();
  });

  it('a frame over 64 KiB answers MESSAGE_TOO_LARGE and keeps the socket', async () => {
    const a = await Probe.open(server.wsUrl);
    a.send({ type: 'chat', text: 'x'.repeat(70 * 1024) });
    expect((await a.next('error')).code).toBe('MESSAGE_TOO_LARGE');
    a.send({ type: 'ping' });
    await a.next('pong');
    a.close();
  });
});

describe('abuse and liveness', () => {
  it('a flood answers RATE_LIMITED, then repeated abuse closes the socket with 1008', async () => {
    const s = await startTestServer({ rateLimitPerSecond: 10, abuseLimit: 5 });
    const a = await Probe.open(s.wsUrl);
    for (let i = 0; i < 40; i++) a.send({ type: 'ping', id: i });
    const closed = await a.closed;
    expect(closed.code).toBe(1008);
    const codes = a.received.filter((m) => m.type === 'error').map((m) => m.code);
    expect(codes).toContain('RATE_LIMITED');
    expect(a.received.filter((m) => m.type === 'pong').length).toBe(20); // the burst (2 s worth)
    // metrics count the refusals that were sent, not frames that arrived after the close
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    const counted = Number(/callpeer_errors_total\{code="RATE_LIMITED"\} (\d+)/.exec(metrics)?.[1]);
    expect(counted).toBe(codes.length);
    await s.close();
  });

  it('a socket that never joins is closed after the join timeout with SIGNALING_TIMEOUT', async () => {
    const s = await startTestServer({}, { joinTimeoutMs: 150 });
    const a = await Probe.open(s.wsUrl);
    expect((await a.next('error', 2000)).code).toBe('SIGNALING_TIMEOUT');
    expect((await a.closed).code).toBe(1008);
    await s.close();
  });

  it('a client that stops answering pings is removed from its room', async () => {
    const s = await startTestServer({ pingIntervalMs: 100 });
    const r = room();
    const a = await Probe.open(s.wsUrl);
    await a.join(r);
    const mute = await Probe.open(s.wsUrl, { autoPong: false });
    const jm = await mute.join(r);
    await a.next('peer-joined');
    // ws answers pings itself unless autoPong is off: this client is "vanished"
    expect((await a.next('peer-left', 2000)).id).toBe(jm.id);
    expect(s.rooms.get(r)?.size).toBe(1);
    a.close();
    await s.close();
  });

  it('shutdown closes every socket with 1001', async () => {
    const s = await startTestServer();
    const a = await Probe.open(s.wsUrl);
    await a.join(room());
    const t0 = Date.now();
    await s.close();
    expect((await a.closed).code).toBe(1001);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('origins', () => {
  it('refuses a WebSocket from another site with 403', async () => {
    const p = new Probe(server.wsUrl, { headers: { origin: 'https://evil.example' } });
    const status = await new Promise<number>((resolve) => p.ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(403);
  });

  it('accepts its own origin, localhost, and an allowed origin', async () => {
    const s = await startTestServer({ allowedOrigin: ['https://app.example'] });
    for (const origin of [`http://127.0.0.1:${s.port}`, 'http://localhost:9999', 'https://app.example']) {
      const p = await Probe.open(s.wsUrl, { headers: { origin } });
      p.close();
    }
    await s.close();
  });
});

describe('HTTP', () => {
  it('healthz, rooms and metrics describe the server', async () => {
    const r = room();
    const a = await Probe.open(server.wsUrl);
    const ja = await a.join(r, { name: 'Ada' });
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { ok: boolean }).ok).toBe(true);
    const { rooms } = (await (await fetch(`${server.url}/api/rooms`)).json()) as { rooms: { id: string; ageSeconds: number }[] };
    const mine = rooms.find((x) => x.id === r)!;
    expect(mine).toMatchObject({ topology: 'mesh', maxMembers: 3, participants: [{ id: ja.id, name: 'Ada' }] });
    expect(typeof mine.ageSeconds).toBe('number');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/callpeer_signaling_messages_total\{type="join",direction="in"\} [1-9]/);
    expect(metrics).toMatch(/callpeer_participants [1-9]/);
    expect(metrics).toMatch(/callpeer_errors_total\{code="(ROOM_FULL|INVALID_MESSAGE|NOT_IN_ROOM)"\} [1-9]/);
    expect(metrics).toContain('callpeer_process_resident_memory_bytes');
    a.close();
  });

  it('serves the pages and refuses paths outside static/', async () => {
    for (const path of ['/', '/r/my-room', '/duo']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
    }
    expect((await fetch(`${server.url}/r/bad%20name`)).status).toBe(404);
    // raw paths: fetch would normalize "/%2e%2e/" away before sending
    for (const raw of ['/%2e%2e/package.json', '/..%2fpackage.json', '/../package.json', '/static/../../package.json']) {
      const status = await new Promise<number>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: server.port, path: raw }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject);
      });
      expect(status, raw).toBe(404);
    }
    expect((await fetch(`${server.url}/nothing-here.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/healthz`, { method: 'POST' })).status).toBe(405);
  });
});
