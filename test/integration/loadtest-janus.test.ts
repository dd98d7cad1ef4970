/**
 * `loadtest --whip` against a WHIP server that is not callpeer: Janus (VideoRoom) behind
 * Meetecho's simple-whip-server, started on loopback by test/helpers/janus.ts. Three
 * publishers, one endpoint each (`{n}` in the URL): all connect, the report has their setup
 * phases, and Janus's receiver reports give each an RTT (so Janus got the media); at the end
 * every endpoint is free again (the DELETEs were taken).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoadTest } from '../../src/loadtest/runner.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { janusMissing, startJanusWhip, type JanusWhip } from '../helpers/janus.js';

const missing = janusMissing();

describe.skipIf(missing !== undefined)(`loadtest --whip against Janus + simple-whip-server${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let janus: JanusWhip;
  beforeAll(async () => {
    janus = await startJanusWhip();
    for (let i = 0; i < 3; i++) await janus.createEndpoint(`lt-${i}`);
  }, 30_000);
  afterAll(async () => {
    await janus?.close();
    cleanupRtc();
  });

  it('3 WHIP publishers connect through Janus: setup phases, RTT from Janus\'s reports, endpoints freed after', async () => {
    const r = await runLoadTest({ mode: 'whip', whipUrl: `${janus.base}/endpoint/lt-{n}`, publishers: 3, rampPerSecond: 10, durationSeconds: 3 });
    const s = r.summary;
    expect(s.errors, JSON.stringify(janus.logs().whip.slice(-800))).toEqual({});
    expect(s.peers).toMatchObject({ total: 3, joined: 3, connected: 3, withErrors: 0 });
    for (const d of [s.setup.offerMs, s.setup.answerMs, s.setup.iceConnectedMs]) expect(d.count).toBe(3);
    expect(s.setup.iceConnectedMs.p99!).toBeLessThan(5000);
    expect(s.packets.sent).toBeGreaterThan(3 * 100); // ~50 packets/s each for 3 s
    // An RTT needs Janus's receiver report on our stream: it received it.
    expect(s.rttMs.count).toBe(3);
    expect(s.rttMs.p50!).toBeLessThan(50);
    expect(r.peers.map((p) => p.room)).toEqual([0, 1, 2].map((i) => janus.endpoint(`lt-${i}`)));
    await expect.poll(async () => (await janus.endpoints()).filter((e) => e.enabled).length, { timeout: 5000 }).toBe(0);
  }, 30_000);
});
