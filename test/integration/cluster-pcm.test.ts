/**
 * /ws/pcm across nodes (issue 17): servers sharing a real redis-server. Two clients on different
 * nodes pair (first come first served, or by invite code), and what one sends reaches the other
 * byte for byte when their formats match; a `?room=` client reaches a room on another node; a
 * node that dies ends its relayed pairs as a partner leaving does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { ToneFrames } from '../../src/media/frames.js';
import { OpusEncoderStream } from '../../src/media/opus.js';
import { bytesToInt16 } from '../../src/media/pcm.js';
import { RedisDirectory } from '../../src/cluster/redis-directory.js';
import { hasRedis, redisSkipNote, startRedis, type TestRedis } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';
import { metric, PcmProbe, sleep, spawnServer, until } from './pcm-harness.js';
import { TwilioCaller } from './twilio-caller.js';
import { Redis } from 'ioredis';

/** `n` distinct 20 ms PCM frames at 48 kHz (each starts with its index, then a ramp). */
function frames(n: number, seed: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => {
    const f = Buffer.alloc(1920);
    f.writeUInt32LE(i, 0);
    for (let j = 4; j < f.length; j++) f[j] = (seed + i * 7 + j) & 0xff;
    return f;
  });
}

/** Sends `list` 20 ms apart. */
async function play(probe: PcmProbe, list: Buffer[]): Promise<void> {
  for (const f of list) {
    probe.sendAudio(f);
    await sleep(20);
  }
}

/** Both send their frames at once; each receives exactly the other's, in order, byte for byte. */
async function exchange(x: PcmProbe, y: PcmProbe, n = 50): Promise<void> {
  const fromX = frames(n, 1);
  const fromY = frames(n, 101);
  const [x0, y0] = [x.audio.length, y.audio.length];
  await Promise.all([play(x, fromX), play(y, fromY)]);
  await until(() => x.audio.length - x0 >= n && y.audio.length - y0 >= n, `${n} frames each way`, 5000);
  expect(Buffer.concat(y.audio.slice(y0)).equals(Buffer.concat(fromX))).toBe(true);
  expect(Buffer.concat(x.audio.slice(x0)).equals(Buffer.concat(fromY))).toBe(true);
}

describe.skipIf(!hasRedis())(`PCM across nodes through Redis${redisSkipNote()}`, { timeout: 60_000 }, () => {
  let redis: TestRedis;
  let a: RunningServer;
  let b: RunningServer;
  const cleanup: (() => void)[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    a = await startTestServer({ redis: redis.url }, { nodeId: 'node-a' });
    b = await startTestServer({ redis: redis.url }, { nodeId: 'node-b' });
  });

  afterAll(async () => {
    for (const c of cleanup) c();
    await a?.close();
    await b?.close();
    await redis?.close();
  });

  const open = async (node: RunningServer, query: Record<string, string> = {}): Promise<PcmProbe> => {
    const p = await PcmProbe.open(node, query);
    cleanup.push(() => p.close());
    return p;
  };

  it('the Redis directory\'s queue and held keys behave as the in-memory one\'s', async () => {
    const r = new Redis(redis.url);
    try {
      const d = new RedisDirectory(r, 'contract:', 3000);
      await d.beat({ id: 'a', load: 0 }, []);
      expect(await d.takeOrWait('q', 'a/1')).toBeUndefined();
      expect(await d.takeOrWait('q', 'b/2')).toBe('a/1');
      expect(await d.takeOrWait('q', 'b/3')).toBeUndefined();
      expect(await d.takeOrWait('q', 'a/4')).toBe('b/3');
      await d.takeOrWait('q', 'a/7');
      await d.unlist('q', 'a/7');
      expect(await d.takeOrWait('q', 'b/9')).toBeUndefined();
      expect(await d.claim('pcm:x', 'a')).toBe('a');
      await d.hold('a', ['pcm:x']);
      expect(await r.pttl('contract:room:pcm:x')).toBeGreaterThan(2500);
      expect(await d.ownerOf('pcm:x')).toBe('a');
    } finally {
      r.disconnect();
    }
  });

  it('first come first served: a client on node B pairs with the one waiting on node A; same format, byte-identical both ways; the pair lives on A', async () => {
    const x = await open(a);
    await x.waitFor('waiting');
    const y = await open(b);
    await x.waitFor('connected');
    await y.waitFor('connected');
    expect(y.types()).toEqual(['connected']); // the second of a pair is never told to wait
    expect(await metric(a, 'callpeer_pcm_active_pairs')).toBe(1);
    expect(await metric(b, 'callpeer_pcm_active_pairs')).toBe(0);
    expect(await metric(a, 'callpeer_pcm_relayed_clients', { side: 'hosted' })).toBe(1);
    expect(await metric(b, 'callpeer_pcm_relayed_clients', { side: 'away' })).toBe(1);
    await exchange(x, y);
    // The partner on the other node leaves: the survivor is told, and waits again.
    y.close();
    await x.waitFor('disconnected');
    await x.waitFor('waiting', 2);
    // ... and a newcomer on B pairs with it across nodes again.
    const z = await open(b);
    await z.waitFor('connected');
    await x.waitFor('connected', 2);
    await exchange(z, x, 20);
    // The host's client leaves: the one on B is handed back to its node and waits there.
    x.close();
    await z.waitFor('disconnected');
    await z.waitFor('waiting');
    const w = await open(a);
    await w.waitFor('connected');
    await exchange(w, z, 20);
    expect(await metric(b, 'callpeer_pcm_active_pairs')).toBe(1); // z waited on B: the pair lives there
    w.close();
    z.close();
  });

  it('stale entries in the cluster\'s queue are skipped: one of a dead node, one of a client that no longer waits', async () => {
    const r = new Redis(redis.url);
    try {
      await r.rpush('callpeer:queue:pcm', 'node-gone/p1', 'node-a/p999');
      const x = await open(b);
      await x.waitFor('waiting'); // both skipped: x is listed now
      const listed = await r.lrange('callpeer:queue:pcm', 0, -1);
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatch(/^node-b\/p\d+$/);
      const y = await open(a);
      await y.waitFor('connected');
      await x.waitFor('connected');
      await exchange(x, y, 10);
      expect(await r.llen('callpeer:queue:pcm')).toBe(0);
      x.close();
      y.close();
    } finally {
      r.disconnect();
    }
  });

  it('by invite code across nodes; a third client with the code gets PAIR_FULL on either node; mute crosses', async () => {
    const x = await open(b, { pair: 'invite-1' });
    await x.waitFor('waiting');
    const y = await open(a, { pair: 'invite-1' });
    await y.waitFor('connected');
    await x.waitFor('connected');
    expect(await metric(b, 'callpeer_pcm_active_pairs')).toBe(1); // the code's home: where x waited
    expect(await metric(a, 'callpeer_pcm_active_pairs')).toBe(0);
    await exchange(x, y);
    for (const node of [a, b]) {
      const third = await open(node, { pair: 'invite-1' });
      await third.waitFor('error');
      expect(third.last('error').code).toBe('PAIR_FULL');
      expect(await third.closed).toBe(1008);
    }
    y.sendJson({ type: 'mute', muted: true });
    await x.waitFor('peer-muted');
    expect(x.last('peer-muted').muted).toBe(true);
    // The code is held on its home node while in use, past the directory's 3 s TTL.
    await sleep(3500);
    const late = await open(a, { pair: 'invite-1' });
    await late.waitFor('error');
    expect(late.last('error').code).toBe('PAIR_FULL');
    x.close();
    await y.waitFor('disconnected');
    y.close();
  });

  it('Opus on one node, 16 kHz PCM on the other: each hears the other\'s tone in its own format', async () => {
    const x = await open(a, { codec: 'opus', pair: 'formats' });
    await x.waitFor('waiting');
    const y = await open(b, { rate: '16000', pair: 'formats' });
    await y.waitFor('connected');
    await x.waitFor('connected');
    expect(y.last('connected')).toMatchObject({ codec: 'pcm', sampleRate: 16000 });
    const encoder = new OpusEncoderStream(48000);
    const tone = new ToneFrames(440, 48000);
    const opusTimer = setInterval(() => x.sendAudio(encoder.encode(tone.nextFrame()!)), 20);
    const stopY = y.speak(1000, 16000);
    try {
      await until(() => y.audioBytes >= 16000 * 2 && x.audio.length >= 50, '1 s each way', 8000);
    } finally {
      clearInterval(opusTimer);
      stopY();
      encoder.release();
    }
    expect(Math.abs(dominantFrequency(bytesToInt16(Buffer.concat(y.audio).subarray(-16000)), 16000) - 440)).toBeLessThanOrEqual(2);
    // What x receives are Opus packets (one per frame), not PCM.
    expect(x.audio.every((p) => p.length < 400)).toBe(true);
    x.close();
    y.close();
  });

  it('?room=: a PCM client on node B joins a room living on node A; it and a PCM client there hear each other', async () => {
    const here = await open(a, { room: 'pcm-across', rate: '48000' });
    await here.waitFor('connected');
    const there = await open(b, { room: 'pcm-across', rate: '16000', name: 'Far' });
    await there.waitFor('connected');
    expect(there.last('connected')).toMatchObject({ room: 'pcm-across', codec: 'pcm', sampleRate: 16000 });
    expect(a.rooms.get('pcm-across')?.size).toBe(2);
    expect(b.rooms.get('pcm-across')).toBeUndefined();
    await here.waitFor('peer-joined');
    expect(here.last('peer-joined').participant).toMatchObject({ name: 'Far', role: 'phone' });
    const stops = [here.speak(300, 48000), there.speak(1000, 16000)];
    try {
      await sleep(500);
      const [h0, t0] = [here.audioBytes, there.audioBytes];
      await until(() => here.audioBytes - h0 >= 48000 * 2 * 2 && there.audioBytes - t0 >= 16000 * 2 * 2, '2 s of mix each', 10_000);
      expect(Math.abs(dominantFrequency(bytesToInt16(Buffer.concat(here.audio).subarray(h0)), 48000) - 1000)).toBeLessThanOrEqual(1);
      expect(Math.abs(dominantFrequency(bytesToInt16(Buffer.concat(there.audio).subarray(t0)), 16000) - 300)).toBeLessThanOrEqual(1);
    } finally {
      for (const s of stops) s();
    }
    there.close();
    await here.waitFor('peer-left');
    here.close();
  });

  it('a Twilio stream on node B joins a room living on node A: the caller and a PCM client there hear each other; stop leaves', async () => {
    const here = await open(a, { room: 'tw-across', rate: '48000' });
    await here.waitFor('connected');
    const caller = await TwilioCaller.dial(b.url, 'tw-across');
    cleanup.push(() => caller.close());
    caller.start({ name: 'Desk' });
    caller.speak(1000);
    await here.waitFor('peer-joined', 1, 5000);
    expect(here.last('peer-joined').participant).toMatchObject({ name: 'Desk', role: 'phone' });
    expect(a.rooms.get('tw-across')?.size).toBe(2);
    expect(b.rooms.get('tw-across')).toBeUndefined();
    const stop = here.speak(300, 48000);
    try {
      await sleep(500);
      const [h0, c0] = [here.audioBytes, caller.media.length];
      await until(() => here.audioBytes - h0 >= 48000 * 2 * 2 && caller.media.length - c0 >= 100, '2 s of audio each way', 10_000);
      expect(Math.abs(dominantFrequency(bytesToInt16(Buffer.concat(here.audio).subarray(h0)), 48000) - 1000)).toBeLessThanOrEqual(1);
      const got = caller.media.slice(c0);
      expect(new Set(got.map((m) => m.payload.length))).toEqual(new Set([160])); // Twilio's 20 ms µ-law media
      expect(caller.messages.every((m) => m.event === 'media')).toBe(true); // nothing of the room's JSON leaks to Twilio
      expect(Math.abs(dominantFrequency(caller.heardSince(c0), 8000) - 300)).toBeLessThanOrEqual(1);
    } finally {
      stop();
    }
    caller.stop();
    expect(await caller.closed).toBe(1000);
    await here.waitFor('peer-left');
    here.close();
  });

  it('the node hosting a pair stops: the client on the other node is told `disconnected`, keeps its socket, and pairs again by its code', async () => {
    const c = await startTestServer({ redis: redis.url });
    const x = await PcmProbe.open(c, { pair: 'grace' });
    await x.waitFor('waiting');
    const y = await open(b, { pair: 'grace' });
    await y.waitFor('connected');
    await c.close();
    await y.waitFor('disconnected');
    await y.waitFor('waiting');
    expect(y.isOpen).toBe(true);
    const z = await open(a, { pair: 'grace' });
    // Within the 2 s an adoption may take, should one have reached the stopping node.
    await z.waitFor('connected', 1, 6000);
    await exchange(y, z, 10);
    // Paired once, for good: nothing else comes for it (the stopped node's beat is gone too).
    await sleep(1500);
    expect(y.isOpen).toBe(true);
    expect(y.count('connected')).toBe(2);
    expect(y.count('disconnected')).toBe(1);
    expect(await metric(a, 'callpeer_pcm_active_pairs') + await metric(b, 'callpeer_pcm_active_pairs')).toBe(1);
    await exchange(y, z, 10);
    y.close();
    z.close();
  });

  it('Redis lost mid-run: a pair across nodes ends for both as if the partner left, and clients pair on their own node meanwhile', async () => {
    const own = await startRedis();
    const x = await startTestServer({ redis: own.url });
    const y = await startTestServer({ redis: own.url });
    try {
      const p1 = await PcmProbe.open(x, { pair: 'cut' });
      cleanup.push(() => p1.close());
      await p1.waitFor('waiting');
      const p2 = await PcmProbe.open(y, { pair: 'cut' });
      cleanup.push(() => p2.close());
      await p2.waitFor('connected');
      await exchange(p1, p2, 10);
      await own.close();
      // Within the directory's TTL and a beat or two.
      await p1.waitFor('disconnected', 1, 8000);
      await p2.waitFor('disconnected', 1, 8000);
      await p1.waitFor('waiting', 2);
      await p2.waitFor('waiting'); // it had paired at once: its first
      expect(p1.isOpen && p2.isOpen).toBe(true);
      // Newcomers pair among the node's own clients, with or without a code.
      for (const query of [{}, { pair: 'local' }] as Record<string, string>[]) {
        const q1 = await PcmProbe.open(x, query);
        const q2 = await PcmProbe.open(x, query);
        cleanup.push(() => q1.close(), () => q2.close());
        await q1.waitFor('connected', 1, 5000);
        await q2.waitFor('connected', 1, 5000);
        await exchange(q1, q2, 10);
      }
    } finally {
      await x.close();
      await y.close();
    }
  });

  it('kill -9 of the node hosting a pair: the client on the surviving node is told `disconnected`, waits, and pairs again', async () => {
    // In its own process, so that it can be killed -9.
    const node = await spawnServer({}, { flags: { redis: redis.url } });
    try {
      const host = await PcmProbe.open(node, { pair: 'doomed' });
      cleanup.push(() => host.close());
      await host.waitFor('waiting', 1, 10_000);
      const survivor = await open(b, { pair: 'doomed' });
      await survivor.waitFor('connected', 1, 5000);
      await exchange(host, survivor, 10);
      const t0 = Date.now();
      process.kill(node.pid, 'SIGKILL');
      await survivor.waitFor('disconnected', 1, 10_000);
      await survivor.waitFor('waiting');
      const ms = Date.now() - t0;
      expect(survivor.isOpen).toBe(true);
      console.log(`pair's node killed: the survivor was told after ${ms} ms`);
      // The code's home died with it: the next client with the code pairs with the survivor.
      const again = await open(a, { pair: 'doomed' });
      await again.waitFor('connected', 1, 8000);
      await exchange(again, survivor, 10);
    } finally {
      await node.close();
    }
  });
});


