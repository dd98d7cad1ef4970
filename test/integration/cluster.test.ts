/**
 * Rooms across nodes (issue 17): servers sharing a real redis-server. A client may reach any
 * node; a room lives on one, and members whose socket is elsewhere have their signaling relayed
 * (their media connection, in an SFU room, is with the room's node).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { WhipClient } from '../../src/client/whip-client.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { runCli, startCli } from '../helpers/cli.js';
import { until } from '../helpers/rtc.js';
import { hasRedis, redisSkipNote, startRedis, type TestRedis } from '../helpers/redis.js';
import { TcpBalancer } from '../helpers/tcp-balancer.js';
import { Probe, startTestServer } from '../helpers/server.js';
import { meshMember } from './mesh-helpers.js';
import { frequencyOf, sfuMember } from './sfu-helpers.js';

describe.skipIf(!hasRedis())(`rooms across nodes through Redis${redisSkipNote()}`, { timeout: 60_000 }, () => {
  let redis: TestRedis;
  let a: RunningServer;
  let b: RunningServer;

  beforeAll(async () => {
    redis = await startRedis();
    a = await startTestServer({ redis: redis.url, rtcBind: '127.0.0.1' });
    b = await startTestServer({ redis: redis.url, rtcBind: '127.0.0.1' });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.close();
    cleanupRtc();
  });

  it('a mesh room spans two nodes: peers see each other, hear each other\'s tones, chat and peer-left cross', async () => {
    const ann = await meshMember(a.wsUrl, 'span', 'Ann', 440);
    const ben = await meshMember(b.wsUrl, 'span', 'Ben', 660);
    try {
      // The room lives on one node; both members are in it.
      const homes = [a.rooms.get('span'), b.rooms.get('span')].filter((r) => r !== undefined);
      expect(homes).toHaveLength(1);
      expect(homes[0]!.size).toBe(2);
      const annId = ann.agent.id!;
      const benId = ben.agent.id!;
      await until(() => (ann.heard.get(benId)?.length ?? 0) > 50 && (ben.heard.get(annId)?.length ?? 0) > 50, 15_000, 'audio both ways');
      expect(frequencyOf(ann.heard.get(benId)!)).toBeCloseTo(660, -1);
      expect(frequencyOf(ben.heard.get(annId)!)).toBeCloseTo(440, -1);
    } finally {
      await ben.stop();
      await ann.stop();
    }
  });

  it('chat, media state and peer-left reach a member on the other node', async () => {
    const ann = await Probe.open(a.wsUrl);
    const ben = await Probe.open(b.wsUrl);
    await ann.join('talk', { name: 'Ann' });
    const joined = await ben.join('talk', { name: 'Ben' }) as { id: string; participants: { name: string }[] };
    expect(joined.participants.map((p) => p.name)).toContain('Ann');
    await ann.next('peer-joined');
    ben.send({ type: 'chat', text: 'hello across' });
    expect(await ann.next('chat')).toMatchObject({ text: 'hello across', name: 'Ben' });
    ben.send({ type: 'media', audio: false });
    expect(await ann.next('peer-updated')).toMatchObject({ participant: { name: 'Ben', audio: false } });
    // A bad message on the remote node's member is refused to it, as on a local one.
    ben.send({ type: 'subscribe', publisher: 'x', track: 'y' });
    expect(await ben.next('error')).toMatchObject({ code: 'SFU_NOT_ENABLED' });
    ben.ws.close();
    expect(await ann.next('peer-left')).toMatchObject({ id: joined.id });
    ann.ws.close();
  });

  it('a join refused by the room\'s node (full) is refused to the client on the other node with the same code', async () => {
    const [p, q] = [await startTestServer({ redis: redis.url, maxMembers: 1 }), await startTestServer({ redis: redis.url, maxMembers: 1 })];
    const ann = await Probe.open(p.wsUrl);
    const ben = await Probe.open(q.wsUrl);
    try {
      await ann.join('tiny', { name: 'Ann' });
      ben.send({ type: 'join', room: 'tiny', name: 'Ben' });
      expect(await ben.next('error')).toMatchObject({ code: 'ROOM_FULL', ref: 'join' });
      expect(p.rooms.get('tiny')?.size).toBe(1);
    } finally {
      ann.close();
      ben.close();
      await p.close();
      await q.close();
    }
  });

  it('an SFU room lives on one node: a member on the other node gets its media from there', async () => {
    const c = await startTestServer({ redis: redis.url, topology: 'sfu', rtcBind: '127.0.0.1' });
    try {
      const ann = await sfuMember(c.wsUrl, 'forward', 'Ann', 440);
      const ben = await sfuMember(a.wsUrl, 'forward', 'Ben', 660);
      try {
        expect(c.rooms.get('forward')?.size).toBe(2);
        expect(a.rooms.get('forward')).toBeUndefined();
        await until(() => (ann.heard.get(ben.agent.id!)?.length ?? 0) > 50 && (ben.heard.get(ann.agent.id!)?.length ?? 0) > 50, 15_000, 'audio both ways through the room\'s node');
        expect(frequencyOf(ben.heard.get(ann.agent.id!)!)).toBeCloseTo(440, -1);
        expect(frequencyOf(ann.heard.get(ben.agent.id!)!)).toBeCloseTo(660, -1);
      } finally {
        await ben.stop();
        await ann.stop();
      }
    } finally {
      await c.close();
    }
  });

  it('WHIP into a room on another node: the publisher\'s media goes to the room\'s node, its session answers PATCH and DELETE from any node', async () => {
    const c = await startTestServer({ redis: redis.url, topology: 'sfu', rtcBind: '127.0.0.1' });
    const d = await startTestServer({ redis: redis.url, topology: 'sfu', rtcBind: '127.0.0.1' });
    const listener = await sfuMember(c.wsUrl, 'cast', 'listener', undefined);
    const whip = new WhipClient({ url: `${d.url}/whip/cast?name=OBS`, peer: { bindAddress: '127.0.0.1' } });
    try {
      const session = await whip.start();
      whip.play(new ToneSource(660));
      expect(c.rooms.get('cast')?.size).toBe(2); // the room's node holds the publisher
      expect(d.rooms.get('cast')).toBeUndefined();
      await until(() => [...listener.heard.values()].some((p) => p.length > 50), 15_000, 'the WHIP tone at the listener');
      expect(frequencyOf([...listener.heard.values()].find((p) => p.length > 50)!)).toBeCloseTo(660, -1);
      // The session lives on the node the POST reached; a DELETE sent to the room's node is handed to it.
      const elsewhere = session.resource.replace(d.url, c.url);
      expect(elsewhere).not.toBe(session.resource);
      const patch = await fetch(elsewhere, { method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': '"nope"' }, body: 'a=ice-ufrag:x\r\n' });
      expect(patch.status).toBe(422); // its ICE credentials are checked by the session's node: a restart is refused
      expect((await fetch(elsewhere, { method: 'DELETE' })).status).toBe(200);
      await until(() => c.rooms.get('cast')?.size === 1, 5000, 'the publisher out of the room');
      expect((await fetch(elsewhere, { method: 'DELETE' })).status).toBe(404);
    } finally {
      await whip.stop(); // its DELETE finds the session gone (404), which stop() takes in its stride
      await listener.stop();
      await c.close();
      await d.close();
    }
  });

  it('kill -9 of the room\'s node: the member on the surviving node is dropped with 1001 and can join again there; no ghost stays', async () => {
    const node = await startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--redis', redis.url, '--log-level', 'info'], /callpeer listening/);
    try {
      const port = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(node.output())![1];
      const first = await Probe.open(`ws://127.0.0.1:${port}/ws`);
      await first.join('doomed', { name: 'Here' });
      const survivor = await Probe.open(b.wsUrl);
      await survivor.join('doomed', { name: 'There' });
      expect(b.rooms.get('doomed')).toBeUndefined(); // the room is on the CLI node
      // A room of the surviving node, with its own members: it must not notice.
      const home = [await Probe.open(b.wsUrl), await Probe.open(b.wsUrl)];
      await home[0]!.join('home', { name: 'H1' });
      await home[1]!.join('home', { name: 'H2' });
      expect(b.rooms.get('home')?.size).toBe(2);
      const t0 = Date.now();
      node.child.kill('SIGKILL');
      expect((await survivor.closed).code).toBe(1001);
      expect(b.rooms.get('home')?.size).toBe(2);
      home[0]!.send({ type: 'chat', text: 'still here' });
      expect(await home[1]!.next('chat')).toMatchObject({ text: 'still here', name: 'H1' });
      for (const h of home) h.close();
      const droppedMs = Date.now() - t0;
      expect(droppedMs).toBeLessThan(10_000);
      // It joins again through the same node: the room is made anew on a live node.
      const again = await Probe.open(b.wsUrl);
      const rejoined = await again.join('doomed', { name: 'There' }) as { participants: unknown[] };
      expect(rejoined.participants).toEqual([]); // nobody else: no ghost of the dead node's member
      expect((a.rooms.get('doomed') ?? b.rooms.get('doomed'))?.size).toBe(1);
      console.log(`room's node killed: its remote member dropped after ${droppedMs} ms, joined again on a live node`);
      again.ws.close();
    } finally {
      node.child.kill('SIGKILL');
    }
  });

  it('behind a load balancer, kill -9 of the node a client is on: both clients re-join through the balancer on the live node within 10 s and hear each other again', async () => {
    const doomed = await startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--redis', redis.url, '--rtc-bind', '127.0.0.1'], /callpeer listening/);
    const live = await startTestServer({ redis: redis.url, rtcBind: '127.0.0.1' });
    const doomedPort = Number(/"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(doomed.output())![1]);
    const lb = await TcpBalancer.start([doomedPort, live.port]);
    const url = `ws://127.0.0.1:${lb.port}/ws`;
    const ann = await meshMember(url, 'balanced', 'Ann', 440); // first connection: the doomed node
    const ben = await meshMember(url, 'balanced', 'Ben', 660); // second: the live one
    try {
      expect(live.rooms.get('balanced')).toBeUndefined(); // the room is on the doomed node, Ben relayed there
      await until(() => (ann.heard.get(ben.agent.id!)?.length ?? 0) > 25 && (ben.heard.get(ann.agent.id!)?.length ?? 0) > 25, 15_000, 'audio both ways');
      const before = { ann: ann.agent.id, ben: ben.agent.id };
      const t0 = Date.now();
      doomed.child.kill('SIGKILL');
      // Ann lost her socket (the node died), Ben was dropped with 1001 (his room's node was lost): both reconnect
      // through the balancer, which only finds the live node now, and re-join; the room is made anew there.
      await until(() => live.rooms.get('balanced')?.size === 2, 15_000, 'both back in the room on the live node');
      // New sessions, new participant ids: each hears the other's new id.
      await until(() => ann.agent.id !== before.ann && ben.agent.id !== before.ben
        && (ann.heard.get(ben.agent.id!)?.length ?? 0) > 25 && (ben.heard.get(ann.agent.id!)?.length ?? 0) > 25, 15_000, 'audio both ways again');
      const backMs = Date.now() - t0;
      console.log(`node killed behind the balancer: both clients together again with audio after ${backMs} ms`);
      expect(backMs).toBeLessThan(10_000);
    } finally {
      doomed.child.kill('SIGKILL');
      await ben.stop();
      await ann.stop();
      await lb.close();
      await live.close();
    }
  });

  it('Redis lost mid-run: a room here goes on and takes joins, cross-node messages are refused with an error, and all works again once Redis is back', async () => {
    const own = await startRedis();
    const x = await startTestServer({ redis: own.url });
    const y = await startTestServer({ redis: own.url });
    const probes: Probe[] = [];
    const open = async (server: RunningServer) => { const p = await Probe.open(server.wsUrl); probes.push(p); return p; };
    let back: TestRedis | undefined;
    try {
      const ann = await open(x);
      await ann.join('keep', { name: 'Ann' });
      const bea = await open(x);
      await bea.join('keep', { name: 'Bea' });
      const cy = await open(y);
      await cy.join('keep', { name: 'Cy' }); // the room is on x: Cy is relayed
      expect(x.rooms.get('keep')?.size).toBe(3);
      await own.close();
      // The room's own node goes on: chat between its local members, a new local join.
      ann.send({ type: 'chat', text: 'still here' });
      expect(await bea.next('chat')).toMatchObject({ text: 'still here' });
      const dee = await open(x);
      await dee.join('keep', { name: 'Dee' });
      // Cy's node cannot reach the room: its message is refused, not lost in silence.
      cy.send({ type: 'chat', text: 'anyone?' });
      expect(await cy.next('error', 5000)).toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/cannot be reached now/) });
      // A room that lives nowhere cannot be placed without the directory.
      const eve = await open(y);
      eve.send({ type: 'join', room: 'elsewhere', name: 'Eve' });
      expect(await eve.next('error', 5000)).toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/cluster cannot be reached now/) });
      // Redis back on the same port: the nodes reconnect by themselves, joins across nodes work again.
      back = await startRedis({ port: own.port });
      const deadline = Date.now() + 15_000;
      let joined: { participants: { name: string }[] } | undefined;
      while (!joined && Date.now() < deadline) {
        const fay = await open(y);
        fay.send({ type: 'join', room: 'keep', name: 'Fay' });
        joined = await fay.next('joined', 2000).catch(() => undefined);
        if (!joined) await new Promise((r) => setTimeout(r, 500));
      }
      expect(joined?.participants.map((p) => p.name)).toEqual(expect.arrayContaining(['Ann', 'Bea', 'Dee']));
      // A Redis that came back empty is not taken for dead nodes: Cy, relayed all along, is still in.
      expect(x.rooms.get('keep')?.snapshot().participants.map((p) => p.name)).toContain('Cy');
    } finally {
      for (const p of probes) p.close();
      await x.close();
      await y.close();
      await back?.close();
      await own.close();
    }
  });

  it('Redis unreachable at start, or --redis not a URL: a clear error and exit 1', async () => {
    const r = await runCli(['serve', '--port', '0', '--host', '127.0.0.1', '--redis', 'redis://127.0.0.1:2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:2: connect ECONNREFUSED/);
    expect(r.stderr).toMatch(/redis-server/);
    const bad = await runCli(['serve', '--port', '0', '--host', '127.0.0.1', '--redis', 'localhost:6379']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--redis \(CALLPEER_REDIS\) must be a redis:\/\/ URL \(got "localhost:6379"\)/);
  });
});
