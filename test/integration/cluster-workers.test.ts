/**
 * `serve --workers 2` (issue 17): two server processes behind one port, sharing rooms through
 * the primary (no Redis). 40 load-test peers in 8 SFU rooms reach both workers; every track is
 * received, which in an SFU means each room's members share the node that forwards it (a room
 * split over two nodes would miss the other half's tracks).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runLoadTest } from '../../src/loadtest/runner.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { runCli, startCli } from '../helpers/cli.js';
import { until } from '../helpers/rtc.js';
import { hasRedis, redisSkipNote, startRedis } from '../helpers/redis.js';
import { Probe, startTestServer } from '../helpers/server.js';

describe('serve --workers', { timeout: 60_000 }, () => {
  it('2 workers, no Redis: 40 load-test peers in 8 SFU rooms, every track received; rooms on both workers', async () => {
    const server = await startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--topology', 'sfu', '--rtc-bind', '127.0.0.1', '--workers', '2'], /callpeer listening[\s\S]*callpeer listening/, { timeoutMs: 15_000 });
    try {
      const ports = [...server.output().matchAll(/"url":"http:\/\/127\.0\.0\.1:(\d+)"/g)].map((m) => m[1]);
      expect(ports).toHaveLength(2);
      expect(ports[0]).toBe(ports[1]); // one port, two processes
      const r = await runLoadTest({ url: `ws://127.0.0.1:${ports[0]}/ws`, rooms: 8, peers: 5, rampPerSecond: 40, durationSeconds: 3, bindAddress: '127.0.0.1' });
      cleanupRtc();
      expect(r.summary.errors).toEqual({});
      expect(r.summary.peers.connected).toBe(40);
      expect(r.summary.tracks).toEqual({ expected: 160, received: 160 });
      // Rooms were made by both workers (each logs with its own pid).
      const makers = new Set([...server.output().matchAll(/"pid":(\d+)[^\n]*"msg":"room created"/g)].map((m) => m[1]));
      expect(makers.size).toBe(2);
      console.log(`--workers 2: ${r.summary.peers.connected}/40 peers, ${r.summary.tracks.received}/160 tracks, rooms made by ${makers.size} workers`);
    } finally {
      server.child.kill('SIGTERM');
      const exited = await server.exited;
      expect(exited.code).toBe(0);
    }
  });

  it.skipIf(!hasRedis())(`--workers 2 with --redis: the workers are nodes of the Redis cluster, a room spans a worker and another server${redisSkipNote()}`, async () => {
    const redis = await startRedis();
    const other = await startTestServer({ redis: redis.url });
    const server = await startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--workers', '2', '--redis', redis.url], /callpeer listening[\s\S]*callpeer listening/, { timeoutMs: 15_000 });
    try {
      const port = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(server.output())![1];
      const ann = await Probe.open(`ws://127.0.0.1:${port}/ws`);
      await ann.join('mixed', { name: 'Ann' });
      const ben = await Probe.open(other.wsUrl);
      const joined = await ben.join('mixed', { name: 'Ben' });
      expect(joined.participants.map((p: { name: string }) => p.name)).toEqual(['Ann']);
      ben.send({ type: 'chat', text: 'across' });
      expect(await ann.next('chat')).toMatchObject({ text: 'across', name: 'Ben' });
      // The other server sees three nodes: itself and the two workers.
      const metrics = await (await fetch(`${other.url}/metrics`)).text();
      expect(metrics).toMatch(/^callpeer_cluster_nodes(\{[^}]*\})? 3$/m);
      ann.close();
      ben.close();
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      await other.close();
      await redis.close();
    }
  });

  it('a worker killed with -9 is replaced, and the port keeps answering', async () => {
    const server = await startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--workers', '2'], /callpeer listening[\s\S]*callpeer listening/, { timeoutMs: 15_000 });
    try {
      const port = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(server.output())![1];
      const workers = readFileSync(`/proc/${server.child.pid}/task/${server.child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
      expect(workers).toHaveLength(2);
      process.kill(workers[0]!, 'SIGKILL');
      await until(() => /a worker died; starting another/.test(server.output()) && (server.output().match(/callpeer listening/g) ?? []).length === 3, 15_000, 'a new worker listening');
      for (let i = 0; i < 4; i++) expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
      expect((await server.exited).code).toBe(0);
    }
  });

  it('a bad --workers value is a plain error, exit 1', async () => {
    const r = await runCli(['serve', '--port', '0', '--workers', 'many']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--workers \(CALLPEER_WORKERS\) must be a count from 1 or "auto"/);
  });
});
