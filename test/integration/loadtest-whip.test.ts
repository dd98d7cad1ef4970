/**
 * `runLoadTest` in WHIP/WHEP mode against callpeer's own /whip and /whep (a real server on
 * loopback): publishers and viewers set up in phases, every viewer hears the stream, and the
 * one-way latency comes from the send times stamped in the audio itself (the SFU renumbers
 * nothing here, but the figure does not rely on that). Then the refusals a user meets.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { formatReport } from '../../src/loadtest/report.js';
import { runLoadTest } from '../../src/loadtest/runner.js';
import { isCallpeerError } from '../../src/errors.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { useTestServer } from '../helpers/server.js';

afterAll(() => cleanupRtc());
const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });

describe('runLoadTest (WHIP/WHEP)', () => {
  it('1 WHIP publisher and 4 WHEP viewers: setup in phases, every viewer hears it, latency from the stamps', async () => {
    const base = ctx.server.url;
    const r = await runLoadTest({ mode: 'whip', whipUrl: `${base}/whip/lt-stage`, whepUrl: `${base}/whep/lt-stage`, publishers: 1, viewers: 4, rampPerSecond: 20, durationSeconds: 3 });
    const s = r.summary;
    expect(r.mode).toBe('whip');
    expect(s.peers).toMatchObject({ total: 5, joined: 5, connected: 5, withErrors: 0 });
    expect(s.tracks).toEqual({ expected: 4, received: 4 });
    for (const d of [s.setup.offerMs, s.setup.answerMs, s.setup.iceMs, s.setup.iceConnectedMs]) expect(d.count).toBe(5);
    // Each phase ends after the one before it, per peer.
    for (const p of r.peers) expect(p.http!.offerMs!).toBeLessThanOrEqual(p.http!.answerMs!);
    for (const p of r.peers) expect(p.http!.answerMs!).toBeLessThanOrEqual(p.http!.iceMs!);
    // ICE first, then DTLS (round trips more): per peer at most equal (the two native callbacks
    // may arrive in either order, and ICE's is then taken as the connection's), on the median before.
    for (const p of r.peers) expect(p.http!.iceMs!).toBeLessThanOrEqual(p.http!.connectedMs!);
    expect(s.setup.iceMs.p50!).toBeLessThan(s.setup.iceConnectedMs.p50!);
    expect(s.setup.firstPacketMs.count).toBe(4);
    // ~150 packets per viewer over 3 s; stamped, so each is timed.
    expect(s.packets.received).toBeGreaterThan(4 * 100);
    expect(s.latencyMs.count).toBe(s.packets.received);
    expect(s.latencyMs.p50!).toBeGreaterThan(0);
    expect(s.latencyMs.p50!).toBeLessThan(50); // loopback and one forwarding hop
    expect(s.packets.lossPercent).toBeLessThan(1);
    // The publisher's RTT comes from the server's receiver reports.
    expect(s.rttMs.count).toBe(1);
    expect(r.params).not.toHaveProperty('headers');
    expect(formatReport(r)).toMatch(/^callpeer loadtest: 1 WHIP publisher → .*\/whip\/lt-stage, 4 WHEP viewers ← .*\/whep\/lt-stage; audio tone; /m);
    expect(r.passed).toBe(true);
  }, 30_000);

  it('refuses what cannot run, naming the flag', async () => {
    const refused = async (input: Parameters<typeof runLoadTest>[0]) => {
      try {
        await runLoadTest(input);
      } catch (err) {
        return isCallpeerError(err) ? `${err.code}: ${err.message}` : String(err);
      }
      return 'ran';
    };
    expect(await refused({ mode: 'whip' })).toMatch(/INVALID_CONFIG: a WHIP\/WHEP run needs --whip URL, --whep URL or both/);
    expect(await refused({ mode: 'whip', whepUrl: 'http://127.0.0.1:2/whep/x', publishers: 2 })).toMatch(/--publishers publish through WHIP: add --whip URL/);
    expect(await refused({ mode: 'whip', whipUrl: 'ws://127.0.0.1:2/whip/x' })).toMatch(/unsupported scheme "ws:"/);
    expect(await refused({ mode: 'whip', whipUrl: 'http://example.com/whip/x', publishers: 30 })).toMatch(/30 peers against example.com/);
  });
});
