/**
 * The room API across nodes (issue 17): whichever node a request reaches answers for every
 * node's rooms. Two in-process nodes on a real redis-server; then `serve --workers 2` without
 * Redis, where each request lands on either worker.
 */
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { startCli } from '../helpers/cli.js';
import { parseMetrics } from '../helpers/metrics.js';
import { hasRedis, redisSkipNote, startRedis, type TestRedis } from '../helpers/redis.js';
import { Probe, startTestServer } from '../helpers/server.js';

interface Answer { status: number; body: any }

/** One API request on a connection of its own: with --workers, each connection may land on another worker. */
function api(base: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, agent: false, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const names = (room: { participants: { name: string }[] }) => room.participants.map((p) => p.name).sort();

describe.skipIf(!hasRedis())(`the room API across nodes through Redis${redisSkipNote()}`, { timeout: 30_000 }, () => {
  let redis: TestRedis;
  let a: RunningServer;
  let b: RunningServer;
  /** The last test kills Redis (TestRedis.close() waits for an exit that happened already when called twice). */
  let redisKilled = false;

  beforeAll(async () => {
    redis = await startRedis();
    a = await startTestServer({ redis: redis.url }, { nodeId: 'node-a' });
    b = await startTestServer({ redis: redis.url }, { nodeId: 'node-b' });
  });

  // Members still in rooms would weigh on the next test's least loaded node.
  const probes: Probe[] = [];
  const open = async (server: RunningServer) => {
    const p = await Probe.open(server.wsUrl);
    probes.push(p);
    return p;
  };
  afterEach(async () => {
    for (const p of probes.splice(0)) p.ws.close();
    await sleep(1500); // their rooms go, and the nodes' loads are published again (1 s beat)
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    if (!redisKilled) await redis?.close();
  });

  it('a room made on node A is listed, fetched, muted, kicked from and deleted through node B; its members on A are told as local ones are', async () => {
    const ann = await open(a);
    const annId = (await ann.join('made-on-a', { name: 'Ann', audio: true })).id as string;
    const cat = await open(a);
    await cat.join('made-on-a', { name: 'Cat' });
    await ann.next('peer-joined');
    expect(a.rooms.get('made-on-a')?.size).toBe(2);
    expect(b.rooms.get('made-on-a')).toBeUndefined();

    const listed = (await api(b.url, 'GET', '/api/rooms')).body.rooms.find((r: { id: string }) => r.id === 'made-on-a');
    expect(listed).toMatchObject({ node: 'node-a', topology: 'mesh' });
    expect(names(listed)).toEqual(['Ann', 'Cat']);
    const fetched = await api(b.url, 'GET', '/api/rooms/made-on-a');
    expect(fetched.status).toBe(200);
    expect(fetched.body.node).toBe('node-a');
    expect(names(fetched.body)).toEqual(['Ann', 'Cat']);

    expect((await api(b.url, 'POST', `/api/rooms/made-on-a/participants/${annId}/mute`, { audio: false })).status).toBe(204);
    expect(await ann.next('muted-by-server')).toEqual({ type: 'muted-by-server', audio: false });
    expect((await cat.next('peer-updated')).participant).toMatchObject({ id: annId, audio: false });

    expect((await api(b.url, 'POST', `/api/rooms/made-on-a/participants/${annId}/kick`, { reason: 'spam' })).status).toBe(204);
    expect(await ann.next('kicked')).toEqual({ type: 'kicked', reason: 'spam' });
    expect(await cat.next('peer-left')).toEqual({ type: 'peer-left', id: annId });
    // The room's node's refusal crosses with its code.
    const again = await api(b.url, 'POST', `/api/rooms/made-on-a/participants/${annId}/kick`, {});
    expect([again.status, again.body.error.code]).toEqual([404, 'PEER_NOT_FOUND']);

    expect((await api(b.url, 'DELETE', '/api/rooms/made-on-a')).status).toBe(204);
    expect(await cat.next('room-closed')).toEqual({ type: 'room-closed', reason: 'deleted' });
    expect((await cat.closed).code).toBe(1000);
    expect(a.rooms.get('made-on-a')).toBeUndefined();
    const gone = await api(b.url, 'GET', '/api/rooms/made-on-a');
    expect([gone.status, gone.body.error.code]).toEqual([404, 'ROOM_NOT_FOUND']);
  });

  it('a room created through the API on node B and joined through node A is one room; kicks and deletes through A reach members on both nodes', async () => {
    const created = await api(b.url, 'POST', '/api/rooms', { id: 'made-on-b', name: 'Bee', maxMembers: 5 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'made-on-b', name: 'Bee', node: 'node-b', participants: [] });
    const ann = await open(a);
    const joined = await ann.join('made-on-b', { name: 'Ann' });
    expect(joined.room).toMatchObject({ id: 'made-on-b', maxMembers: 5 });
    const cat = await open(a);
    await cat.join('made-on-b', { name: 'Cat' });
    const ben = await open(b);
    await ben.join('made-on-b', { name: 'Ben' });
    expect(b.rooms.get('made-on-b')?.size).toBe(3);
    expect(a.rooms.get('made-on-b')).toBeUndefined();

    const listed = (await api(a.url, 'GET', '/api/rooms')).body.rooms.filter((r: { id: string }) => r.id === 'made-on-b');
    expect(listed).toHaveLength(1);
    expect(listed[0].node).toBe('node-b');
    expect(names(listed[0])).toEqual(['Ann', 'Ben', 'Cat']);

    // Each node's /metrics shows the cluster: two live nodes, and the relayed members both ways.
    const ma = parseMetrics(await (await fetch(`${a.url}/metrics`)).text());
    const mb = parseMetrics(await (await fetch(`${b.url}/metrics`)).text());
    expect(ma.get('callpeer_cluster_nodes{node="node-a"}')).toBe(2);
    expect(mb.get('callpeer_cluster_nodes{node="node-b"}')).toBe(2);
    expect(ma.get('callpeer_cluster_relayed_members{side="away"}')).toBe(2);
    expect(ma.get('callpeer_cluster_relayed_members{side="hosted"}')).toBe(0);
    expect(mb.get('callpeer_cluster_relayed_members{side="hosted"}')).toBe(2);
    expect(mb.get('callpeer_participants')).toBe(3);

    expect((await api(a.url, 'POST', `/api/rooms/made-on-b/participants/${joined.id}/kick`, { reason: 'off topic' })).status).toBe(204);
    expect(await ann.next('kicked')).toEqual({ type: 'kicked', reason: 'off topic' });
    expect(await ben.next('peer-left')).toMatchObject({ id: joined.id });
    expect(await cat.next('peer-left')).toMatchObject({ id: joined.id });

    expect((await api(a.url, 'DELETE', '/api/rooms/made-on-b')).status).toBe(204);
    for (const p of [cat, ben]) {
      expect(await p.next('room-closed')).toEqual({ type: 'room-closed', reason: 'deleted' });
      expect((await p.closed).code).toBe(1000);
    }
    expect(b.rooms.get('made-on-b')).toBeUndefined();
    expect((await api(b.url, 'GET', '/api/rooms')).body.rooms.map((r: { id: string }) => r.id)).not.toContain('made-on-b');
  });

  it('errors cross nodes: ROOM_NOT_FOUND for a room nowhere, ROOM_EXISTS for a room on the other node', async () => {
    for (const [server, method, path, body] of [
      [a, 'GET', '/api/rooms/nowhere'], [b, 'DELETE', '/api/rooms/nowhere'],
      [a, 'POST', '/api/rooms/nowhere/participants/x/kick', {}], [b, 'POST', '/api/rooms/nowhere/participants/x/mute', { audio: false }],
    ] as const) {
      const r = await api(server.url, method, path, body);
      expect([r.status, r.body.error.code], `${method} ${path}`).toEqual([404, 'ROOM_NOT_FOUND']);
    }
    expect((await api(a.url, 'POST', '/api/rooms', { id: 'taken' })).status).toBe(201);
    const ann = await open(a);
    await ann.join('joined-on-a', { name: 'Ann' });
    for (const id of ['taken', 'joined-on-a']) {
      const r = await api(b.url, 'POST', '/api/rooms', { id });
      expect([r.status, r.body.error.code], id).toEqual([409, 'ROOM_EXISTS']);
      expect(b.rooms.get(id), id).toBeUndefined();
    }
    await api(a.url, 'DELETE', '/api/rooms/taken');
  });

  it('a room created through a busy node is made on the least loaded one', async () => {
    const ben = await open(b);
    await ben.join('busy', { name: 'Ben' });
    expect(b.rooms.get('busy')?.size).toBe(1);
    await sleep(1500); // the loads are published with the 1 s beat
    const created = await api(b.url, 'POST', '/api/rooms', { id: 'quiet', maxMembers: 4 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'quiet', maxMembers: 4, node: 'node-a' });
    expect(a.rooms.get('quiet')?.maxMembers).toBe(4);
    expect(b.rooms.get('quiet')).toBeUndefined();
    const r = await api(a.url, 'POST', '/api/rooms', { id: 'quiet' });
    expect([r.status, r.body.error.code]).toEqual([409, 'ROOM_EXISTS']);
    expect((await api(b.url, 'DELETE', '/api/rooms/quiet')).status).toBe(204);
    expect(a.rooms.get('quiet')).toBeUndefined();
  });

  it('Redis lost (the last test here): the node reached still answers for its own rooms; a list and a create answer 500 INTERNAL', async () => {
    const ann = await open(a);
    await ann.join('local-only', { name: 'Ann' });
    redisKilled = true;
    await redis.close();
    expect((await api(a.url, 'GET', '/api/rooms/local-only')).body).toMatchObject({ id: 'local-only', node: 'node-a' });
    for (const [method, path, body] of [['GET', '/api/rooms'], ['POST', '/api/rooms', { id: 'new' }]] as const) {
      const r = await api(a.url, method, path, body);
      expect([r.status, r.body.error.code], `${method} ${path}`).toEqual([500, 'INTERNAL']);
    }
    expect((await api(a.url, 'DELETE', '/api/rooms/local-only')).status).toBe(204);
    expect(await ann.next('room-closed')).toEqual({ type: 'room-closed', reason: 'deleted' });
  });
});

describe('the room API with serve --workers 2 (no Redis)', { timeout: 30_000 }, () => {
  it('GET /api/rooms answers the same list whichever worker a request lands on; rooms made and deleted through either', async () => {
    const server = await startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--workers', '2'], /callpeer listening[\s\S]*callpeer listening/, { timeoutMs: 15_000 });
    try {
      const port = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(server.output())![1];
      const base = `http://127.0.0.1:${port}`;
      // Each request on its own connection: the primary hands connections to the workers in turn.
      const made = new Map<string, string>();
      for (let i = 0; i < 6; i++) {
        const r = await api(base, 'POST', '/api/rooms', { id: `w${i}` });
        expect(r.status).toBe(201);
        made.set(r.body.id, r.body.node);
      }
      // Rooms on both workers: a worker answering for its own rooms alone would list half.
      expect(new Set(made.values()).size).toBe(2);
      const lists: string[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await api(base, 'GET', '/api/rooms');
        lists.push(JSON.stringify(r.body.rooms.map((room: { id: string; node: string }) => [room.id, room.node])));
      }
      expect(new Set(lists)).toEqual(new Set([JSON.stringify([...made].sort())]));
      for (const id of ['w0', 'w1']) expect((await api(base, 'DELETE', `/api/rooms/${id}`)).status).toBe(204);
      for (let i = 0; i < 4; i++) {
        const r = await api(base, 'GET', '/api/rooms');
        expect(r.body.rooms.map((room: { id: string }) => room.id)).toEqual(['w2', 'w3', 'w4', 'w5']);
        expect((await api(base, 'GET', '/api/rooms/w0')).status).toBe(404);
      }
      console.log(`--workers 2: rooms on ${new Set(made.values()).size} workers, ${lists.length} lists alike`);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
