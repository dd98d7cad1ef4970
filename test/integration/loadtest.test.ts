/**
 * `runLoadTest` against a real server on loopback: a clean small run, injected loss, PCM pairs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { formatReport } from '../../src/loadtest/report.js';
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
    // libdatachannel sometimes fails a fresh connection when the DTLS handshake beats the
    // answer (worse on a loaded machine); MeshAgent remakes it, the run counts it as peer-failed.
    expect(Object.keys(s.errors).filter((k) => k !== 'peer-failed')).toEqual([]);
    expect(s.peers).toMatchObject({ total: 6, joined: 6, connected: 6 });
    // Mesh of 3 publishers: each hears the 2 others.
    expect(s.tracks).toEqual({ expected: 12, received: 12 });
    expect(s.packets.lost).toBe(0);
    expect(s.packets.lossPercent).toBe(0);
    // ~5 s at 50 packets/s per stream, 12 streams.
    expect(s.packets.received).toBeGreaterThan(12 * 50 * 4);
    expect(s.setup.firstPacketMs.count).toBe(6); // each newcomer's links: 0+1+2 per room
    // Setup in phases on each link we set up: offer/answer, ICE, then DTLS (a round trip more,
    // so ICE's median comes first; without ICE's own time the two would be equal).
    expect(s.setup.negotiatedMs.count).toBe(6);
    expect(s.setup.iceMs.count).toBe(6);
    expect(s.setup.iceMs.p50!).toBeLessThan(s.setup.iceConnectedMs.p50!);
    expect(s.latencyMs.count).toBeGreaterThan(s.packets.received * 0.9);
    expect(s.latencyMs.p50!).toBeGreaterThan(0);
    expect(s.latencyMs.p50!).toBeLessThan(50);
    expect(s.rttMs.count).toBeGreaterThan(0);
    expect(r.passed).toBe(true);
    expect(r.peers.every((p) => p.peersConnected === p.peersExpected && p.tracksReceived === p.tracksExpected)).toBe(true);
  }, 30_000);

  it('dropping every 10th received packet reports about 10 % loss, and --max-loss fails the run', async () => {
    const r = await runLoadTest({
      url: server.wsUrl, rooms: 1, peers: 3, rampPerSecond: 20, durationSeconds: 3,
      thresholds: { maxLossPercent: 5 },
      hooks: { dropReceived: (n) => n % 10 === 0 },
    });
    expect(r.summary.tracks).toEqual({ expected: 6, received: 6 });
    expect(r.summary.packets.lossPercent).toBeGreaterThan(9);
    expect(r.summary.packets.lossPercent).toBeLessThan(11);
    // Every stream that ran long enough (a link remade after a failure leaves a short one).
    const streams = r.peers.flatMap((p) => p.streams).filter((s) => s.expected >= 50);
    expect(streams.length).toBeGreaterThanOrEqual(6);
    for (const s of streams) expect(Math.abs(s.lossPercent - 10)).toBeLessThan(1.5);
    expect(r.passed).toBe(false);
    expect(r.violations.map((v) => v.threshold)).toEqual(['--max-loss']);
  }, 30_000);

  it('--video in a mesh room sends no video and says why, once per peer', async () => {
    // 3 s, not 1: a link setup that stalls 1 s now and then on a busy machine (see
    // docs/reliability.md, DTLS) left 1 s without audio received in a CI run.
    const r = await runLoadTest({ url: server.wsUrl, rooms: 1, peers: 2, video: true, rampPerSecond: 20, durationSeconds: 3 });
    expect(r.summary.errors['video-needs-sfu']).toBe(2);
    expect(r.summary.tracks).toEqual({ expected: 2, received: 2 });
    expect(r.summary.video!.tracks.received).toBe(0);
  }, 30_000);

  it('publishers and subscribers: listeners hear every publisher, publishers hear each other', async () => {
    const r = await runLoadTest({ url: server.wsUrl, rooms: 1, publishers: 1, subscribers: 3, rampPerSecond: 20, durationSeconds: 2 });
    // 3 subscribers hear the one publisher; the publisher expects nothing.
    expect(r.summary.tracks).toEqual({ expected: 3, received: 3 });
    expect(r.peers.filter((p) => p.role === 'subscriber').every((p) => p.sent.packets === 0)).toBe(true);
    expect(r.summary.packets.lost).toBe(0);
  }, 30_000);

  it('a room too small for the run counts ROOM_FULL per refused peer and carries on', async () => {
    const small = await startTestServer({ maxMembers: 2 });
    try {
      const r = await runLoadTest({ url: small.wsUrl, rooms: 1, peers: 3, rampPerSecond: 20, durationSeconds: 1 });
      expect(r.summary.errors.ROOM_FULL).toBe(1);
      expect(Object.keys(r.summary.errors).filter((k) => k !== 'ROOM_FULL' && k !== 'peer-failed')).toEqual([]);
      expect(r.summary.peers).toMatchObject({ total: 3, joined: 2 });
      expect(r.summary.tracks.received).toBe(2);
    } finally {
      await small.close();
    }
  }, 30_000);
});

describe('runLoadTest (WebRTC, SFU rooms)', () => {
  let sfu: RunningServer;
  beforeAll(async () => { sfu = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }); });
  afterAll(async () => { await sfu.close(); });

  it('2 rooms x 3 peers for 5 s: one server connection each, every track heard through it, no loss, latency by publisher', async () => {
    const r = await runLoadTest({ url: sfu.wsUrl, rooms: 2, peers: 3, rampPerSecond: 20, durationSeconds: 5, bindAddress: '127.0.0.1' });
    const s = r.summary;
    expect(Object.keys(s.errors).filter((k) => k !== 'peer-failed')).toEqual([]);
    expect(s.peers).toMatchObject({ total: 6, joined: 6, connected: 6 });
    expect(r.peers.every((p) => p.peersExpected === 1 && p.peersConnected === 1)).toBe(true);
    expect(s.tracks).toEqual({ expected: 12, received: 12 });
    expect(s.packets.lost).toBe(0);
    expect(s.packets.received).toBeGreaterThan(12 * 50 * 4);
    // Sent once per publisher (the server fans out): ~5 s x 50 packets, not x2 links.
    for (const p of r.peers) expect(p.sent.packets).toBeLessThan(5 * 50 * 1.3);
    // The SSRC changes in the SFU; each packet carries its send time.
    expect(s.latencyMs.count).toBeGreaterThan(s.packets.received * 0.9);
    expect(s.latencyMs.p50!).toBeGreaterThan(0);
    expect(s.latencyMs.p50!).toBeLessThan(50);
    expect(s.rttMs.count).toBeGreaterThan(0); // the server's receiver reports on our stream
    // Timed like a mesh newcomer's links: to publishers already there when it joined (0+1+2 per room).
    expect(s.setup.firstPacketMs.count).toBe(6);
    expect(r.passed).toBe(true);
  }, 30_000);

  it('dropping every 10th received packet reports about 10 % loss', async () => {
    const r = await runLoadTest({
      url: sfu.wsUrl, rooms: 1, peers: 3, rampPerSecond: 20, durationSeconds: 3, bindAddress: '127.0.0.1',
      hooks: { dropReceived: (n) => n % 10 === 0 },
    });
    expect(r.summary.tracks).toEqual({ expected: 6, received: 6 });
    expect(r.summary.packets.lossPercent).toBeGreaterThan(9);
    expect(r.summary.packets.lossPercent).toBeLessThan(11);
  }, 30_000);

  it('one publisher, three listeners: each listener hears it, listeners send nothing', async () => {
    const r = await runLoadTest({ url: sfu.wsUrl, rooms: 1, publishers: 1, subscribers: 3, rampPerSecond: 20, durationSeconds: 2, bindAddress: '127.0.0.1' });
    expect(r.summary.tracks).toEqual({ expected: 3, received: 3 });
    expect(r.peers.filter((p) => p.role === 'subscriber').every((p) => p.sent.packets === 0)).toBe(true);
    expect(r.summary.peers.connected).toBe(4);
    expect(r.summary.packets.lost).toBe(0);
  }, 30_000);

  it('--video: every publisher sends a simulcast camera; each peer receives the others\' at the top layer, frames and key frames counted', async () => {
    const r = await runLoadTest({ url: sfu.wsUrl, rooms: 2, peers: 3, video: true, rampPerSecond: 20, durationSeconds: 4, bindAddress: '127.0.0.1' });
    const v = r.summary.video!;
    // libdatachannel's refused first DTLS handshakes (issue 16) remake a connection now and
    // then; about one run in ten a camera then stays unseen for its peer (notes: under study).
    const remade = r.summary.errors['peer-failed'] ?? 0;
    expect(v.tracks.expected).toBe(12);
    expect(v.tracks.received).toBeGreaterThanOrEqual(remade === 0 ? 12 : 10);
    expect(v.packets.lost).toBe(0);
    // 15 fps per camera for about 4 s, at the fixtures' 640x360 once the server is on the top layer.
    expect(v.framesPerSecond.p50!).toBeGreaterThan(12);
    expect(v.framesPerSecond.p50!).toBeLessThan(18);
    expect(v.keyframes).toBeGreaterThanOrEqual(12);
    expect(Object.keys(v.sizes)).toEqual(['640x360']);
    expect(r.summary.tracks).toEqual({ expected: 12, received: 12 }); // the audio too
    expect(Object.keys(r.summary.errors).filter((k) => k !== 'peer-failed')).toEqual([]);
    expect(formatReport(r)).toMatch(/^callpeer loadtest: webrtc sfu, 2 rooms x 3 peers, audio tone, video \(3 simulcast layers\); /);
    expect(formatReport(r)).toMatch(/^video {4}1[02]\/12 cameras received, \d+ packets, 0 lost \(0\.00 %\), \d+ frames \(\d+ key\), [\d.]+ fps per camera \(median\), \d+ kbps; last layer: \d+ at 640x360$/m);
  }, 30_000);
});

describe('runLoadTest (PCM pairs)', () => {
  it.each(['pcm', 'opus'] as const)('10 pairs with codec %s: all paired, every frame heard, latency measured', async (codec) => {
    const r = await runLoadTest({ url: server.wsUrl, mode: 'pcm', pairs: 10, codec, rampPerSecond: 50, durationSeconds: 2 });
    const s = r.summary;
    expect(s.peers).toMatchObject({ total: 20, joined: 20, connected: 20, withErrors: 0 });
    expect(s.tracks).toEqual({ expected: 20, received: 20 });
    expect(s.packets.received).toBeGreaterThan(20 * 50 * 1.5);
    expect(s.packets.lost).toBe(0);
    expect(s.latencyMs.count).toBe(s.packets.received);
    expect(s.latencyMs.p50!).toBeLessThan(20);
    // PCM 48 kHz mono is 768 kbps of samples; Opus here is 32 kbps.
    const kbps = s.bitrate.perStreamKbps.p50!;
    if (codec === 'pcm') expect(kbps).toBeGreaterThan(700);
    else expect(kbps).toBeLessThan(100);
  }, 30_000);
});
