/**
 * `runLoadTest` against a real server on loopback: a clean small run, injected loss, PCM pairs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { runLoadTest } from '../../src/loadtest/runner.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { startTestServer } from '../helpers/server.js';

let server: RunningServer;
beforeAll(async () => { server = await startTestServer(); });
afterAll(async () => {
  await server.close();
  cleanupRtc();
});

describe('runLoadTest (WebRTC mesh)', () => {
  it('2 rooms x 3 peers for 5 s: every peer connected, every track heard, no loss', async () => {
    const r = await runLoadTest({ url: server.wsUrl, rooms: 2, peers: 3, rampPerSecond: 20, durationSeconds: 5, bindAddress: '127.0.0.1' });
    const s = r.summary;
    console.log(JSON.stringify({ ...r, peers: undefined, generator: { ...r.generator, samples: undefined } }, null, 1));
    expect(s.peers).toMatchObject({ total: 6, joined: 6, connected: 6, withErrors: 0 });
    // Mesh of 3 publishers: each hears the 2 others.
    expect(s.tracks).toEqual({ expected: 12, received: 12 });
    expect(s.packets.lost).toBe(0);
    expect(s.packets.lossPercent).toBe(0);
    // ~5 s at 50 packets/s per stream, 12 streams.
    expect(s.packets.received).toBeGreaterThan(12 * 50 * 4);
    expect(s.setup.firstPacketMs.count).toBe(6); // each newcomer's links: 0+1+2 per room
    expect(s.latencyMs.count).toBeGreaterThan(s.packets.received * 0.9);
    expect(s.latencyMs.p50!).toBeGreaterThan(0);
    expect(s.latencyMs.p50!).toBeLessThan(50);
    expect(s.rttMs.count).toBeGreaterThan(0);
    expect(s.errors).toEqual({});
    expect(r.passed).toBe(true);
  }, 30_000);
});
