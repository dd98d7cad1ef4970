/**
 * `workers: 2` (`loadtest --workers 2`): the same run spread over two processes reports the
 * same figures as one process (every peer, every track, no loss, every packet timed across
 * processes by the send time it carries), each worker holding its half. WebRTC rooms through
 * an SFU, WHIP/WHEP (the publisher in one process, viewers in both), and PCM pairs (a pair's
 * two ends in one process). How much CPU each process spends is the bench's (test/bench/).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runLoadTest, type LoadTestResult } from '../../src/loadtest/runner.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { useTestServer } from '../helpers/server.js';

afterAll(() => cleanupRtc());
const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });

/** What must not depend on how many processes ran the peers. */
function figures(r: LoadTestResult) {
  const s = r.summary;
  return { peers: s.peers, tracks: s.tracks, lossPercent: s.packets.lossPercent, indexes: r.peers.map((p) => p.index), errors: s.errors };
}

describe('load test workers', () => {
  it('2 SFU rooms x 3 peers: one process and two report the same run, and each worker held 3 peers', async () => {
    const run = (workers: number) => runLoadTest({ url: ctx.server.url, rooms: 2, peers: 3, workers, rampPerSecond: 20, durationSeconds: 3 });
    const one = await run(1);
    const two = await run(2);
    expect(figures(two)).toEqual(figures(one));
    expect(figures(two)).toMatchObject({ peers: { total: 6, joined: 6, connected: 6 }, tracks: { expected: 12, received: 12 }, lossPercent: 0, errors: {} });
    expect(one.workers).toBeUndefined();
    expect(two.workers!.map((w) => [w.worker, w.peers])).toEqual([[0, 3], [1, 3]]);
    // Every packet timed, publishers and listeners in different processes as often as not.
    expect(two.summary.latencyMs.count).toBe(two.summary.packets.received);
    expect(two.summary.latencyMs.p50!).toBeLessThan(50);
    expect(two.generator.samples.length).toBeGreaterThanOrEqual(2 * 3); // both processes' samples
  }, 40_000);

  it('WHIP/WHEP over two processes: 1 publisher, 3 viewers, every viewer hears it, latency measured across processes', async () => {
    const base = ctx.server.url;
    const r = await runLoadTest({ mode: 'whip', whipUrl: `${base}/whip/wk-stage`, whepUrl: `${base}/whep/wk-stage`, publishers: 1, viewers: 3, workers: 2, rampPerSecond: 20, durationSeconds: 3 });
    expect(r.summary.peers).toMatchObject({ total: 4, joined: 4, connected: 4, withErrors: 0 });
    expect(r.summary.tracks).toEqual({ expected: 3, received: 3 });
    expect(r.workers!.map((w) => w.peers)).toEqual([2, 2]);
    expect(r.summary.latencyMs.count).toBe(r.summary.packets.received);
  }, 30_000);

  it('PCM pairs over two processes: each pair in one process, every frame heard', async () => {
    const r = await runLoadTest({ url: ctx.server.url, mode: 'pcm', pairs: 3, workers: 2, durationSeconds: 2 });
    expect(r.summary.peers).toMatchObject({ total: 6, joined: 6, connected: 6 });
    expect(r.summary.tracks).toEqual({ expected: 6, received: 6 });
    expect(r.workers!.map((w) => w.peers)).toEqual([4, 2]); // pairs 0 and 2, pair 1
    expect(r.summary.packets.lost).toBe(0);
  }, 30_000);
});
