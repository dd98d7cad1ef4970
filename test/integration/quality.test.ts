/**
 * Quality reports (PROTOCOL.md "Quality reports"): in a mesh room from the members' `stats`
 * (raw WebSocket clients report), in an SFU room measured by the server from real
 * node-datachannel members' RTP and RTCP on loopback, one of them losing every tenth packet on
 * its way up. Rounds are shortened to 300 ms here (2 s in service).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { isRtcp } from '../../src/media/rtp.js';
import type { QualityMessage } from '../../src/protocol/signaling.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { RtpReceiver } from '../../src/rtc/rtp-receiver.js';
import { until } from '../helpers/rtc.js';
import { Probe, startTestServer } from '../helpers/server.js';
import { sfuMember, type SfuMember } from './sfu-helpers.js';

const changes: { room: string; participant: string; quality: QualityMessage }[] = [];
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { qualityIntervalMs: 300, onQualityChange: (c) => changes.push(c) });
});
afterAll(async () => {
  await server.close();
  cleanupRtc();
});

async function joinProbe(room: string, name: string): Promise<{ probe: Probe; id: string }> {
  const probe = await Probe.open(server.wsUrl);
  probe.send({ type: 'join', room, name, audio: true });
  const joined = await probe.next<{ id: string }>('joined');
  return { probe, id: joined.id };
}

/** Quality messages a probe got so far about `id`. */
const about = (p: Probe, id: string) => p.received.filter((m) => m.type === 'quality' && m.id === id) as unknown as QualityMessage[];

describe('quality in a mesh room, from the members\' stats', () => {
  it('a member reporting 10 % loss from a peer: everyone hears that peer\'s quality with high-loss; bad reports are refused and change nothing', async () => {
    expect((await fetch(`${server.url}/api/rooms`, { method: 'POST', body: JSON.stringify({ id: 'q-mesh', topology: 'mesh' }) })).status).toBe(201);
    const a = await joinProbe('q-mesh', 'A');
    const b = await joinProbe('q-mesh', 'B');
    try {
      a.probe.send({ type: 'stats', peer: b.id, packetLoss: 10, jitterMs: 12, rttMs: 80, bitrateKbps: 35 });
      await until(() => about(a.probe, b.id).length > 0 && about(b.probe, b.id).length > 0, 5000, 'quality about B at both');
      const q = about(b.probe, b.id)[0]!;
      // 10 % loss, d = 40 + 24 + 10 = 74 ms: Id 1.78, Ie 27.14, R 64.3 -> 69.
      expect(q).toEqual({ type: 'quality', id: b.id, score: 69, packetLoss: 10, jitterMs: 12, rttMs: 80, bitrateKbps: 35, warnings: ['high-loss'] });
      expect(about(a.probe, b.id)[0]).toEqual(q);
      // Nobody reported on A: nothing is said about it.
      expect(about(a.probe, a.id)).toEqual([]);
      // Bad reports: each refused with an error; B's reading stays what A said.
      const bad: [unknown, string][] = [
        [{ type: 'stats', peer: a.id, packetLoss: 0, jitterMs: 0, rttMs: 0, bitrateKbps: 0 }, 'INVALID_MESSAGE'], // about yourself
        [{ type: 'stats', peer: 'nobody', packetLoss: 0, jitterMs: 0, rttMs: 0, bitrateKbps: 0 }, 'PEER_NOT_FOUND'],
        [{ type: 'stats', peer: b.id, packetLoss: -5, jitterMs: 0, rttMs: 0, bitrateKbps: 0 }, 'INVALID_MESSAGE'],
        [{ type: 'stats', peer: b.id, packetLoss: 0, jitterMs: 'NaN', rttMs: 0, bitrateKbps: 0 }, 'INVALID_MESSAGE'],
        [{ type: 'stats', peer: b.id, packetLoss: 0, jitterMs: 0, rttMs: 1e12, bitrateKbps: 0 }, 'INVALID_MESSAGE'],
      ];
      for (const [m, code] of bad) {
        a.probe.send(m);
        expect(await a.probe.next('error')).toMatchObject({ code, ref: 'stats' });
      }
      const count = about(b.probe, b.id).length;
      await until(() => about(b.probe, b.id).length >= count + 2, 5000, 'two more rounds');
      expect(about(b.probe, b.id).at(-1)).toEqual(q);
      // The hook heard of B once (its figures did not change), the metrics counted the readings.
      expect(changes.filter((c) => c.room === 'q-mesh').map((c) => [c.participant, c.quality.warnings])).toEqual([[b.id, ['high-loss']]]);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(Number(/^callpeer_quality_packet_loss_percent_count\{room="q-mesh"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(3);
      expect(metrics).toMatch(/^callpeer_quality_poor_members\{room="q-mesh"\} 0$/m);
      // The room API shows the last reading with the participant.
      const room = await (await fetch(`${server.url}/api/rooms/q-mesh`)).json() as { participants: { id: string; quality?: unknown }[] };
      expect(room.participants.find((p) => p.id === b.id)!.quality).toMatchObject({ score: 69, warnings: ['high-loss'] });
    } finally {
      a.probe.ws.close();
      b.probe.ws.close();
    }
  });
});

describe('quality in an SFU room, measured by the server', () => {
  it('clean members score high; a publisher losing 10 % of its packets on the way up shows about 10 % with high-loss, to itself and to its subscriber; the other stays clean', async () => {
    const members: SfuMember[] = [];
    try {
      const clean = await sfuMember(server.wsUrl, 'q-sfu', 'clean', 440);
      members.push(clean);
      const lossy = await sfuMember(server.wsUrl, 'q-sfu', 'lossy', 880);
      members.push(lossy);
      const quality: Record<string, QualityMessage[]> = { clean: [], lossy: [] };
      clean.agent.on('quality', (m) => quality.clean!.push(m));
      lossy.agent.on('quality', (m) => quality.lossy!.push(m));
      const ids = { clean: clean.agent.id!, lossy: lossy.agent.id! };
      // Every tenth RTP packet the lossy member sends never leaves it: the network lost it.
      await until(() => lossy.agent.server?.tracks().some((t) => t.kind === 'audio' && t.direction === 'sendonly') === true, 10_000, 'the lossy member\'s track');
      const track = lossy.agent.server!.tracks().find((t) => t.kind === 'audio' && t.direction === 'sendonly')!;
      const send = track.send.bind(track);
      let n = 0;
      track.send = (p: Buffer) => (isRtcp(p) || ++n % 10 !== 0 ? send(p) : true);
      await until(() => quality.clean!.filter((q) => q.id === ids.lossy).length >= 8, 10_000, 'readings of the lossy member at the clean one');
      // Over 300 ms rounds (15 packets) 10 % is one or two lost: the last four readings average it.
      const lastFour = quality.clean!.filter((q) => q.id === ids.lossy).slice(-4);
      const meanLoss = lastFour.reduce((a, q) => a + q.packetLoss, 0) / 4;
      const lossyAtSubscriber = lastFour.at(-1)!;
      const lossyAtItself = quality.lossy!.filter((q) => q.id === ids.lossy).at(-1)!;
      const cleanAtItself = quality.clean!.filter((q) => q.id === ids.clean).at(-1)!;
      console.log(`SFU quality: lossy ${JSON.stringify(lossyAtSubscriber)}; clean ${JSON.stringify(cleanAtItself)}`);
      expect(meanLoss).toBeGreaterThanOrEqual(7);
      expect(meanLoss).toBeLessThanOrEqual(13);
      expect(lossyAtSubscriber.warnings).toContain('high-loss');
      expect(lossyAtSubscriber.score).toBeLessThan(85);
      expect(lossyAtItself.warnings).toContain('high-loss');
      expect(cleanAtItself.packetLoss).toBeLessThan(2);
      expect(cleanAtItself.warnings).toEqual([]);
      expect(cleanAtItself.score).toBeGreaterThanOrEqual(90);
      // Opus at ~32 kbit/s plus headers.
      expect(cleanAtItself.bitrateKbps).toBeGreaterThan(20);
      expect(cleanAtItself.bitrateKbps).toBeLessThan(120);
      // Rate: one message per member per other member per round, at most.
      const rounds = new Set(quality.clean!.filter((q) => q.id === ids.clean).map((_, i) => i)).size;
      expect(quality.clean!.length).toBeLessThanOrEqual(2 * rounds + 2);
    } finally {
      for (const m of members) await m.stop();
    }
  });

  it('a subscriber losing 10 % of what it receives: its own quality shows it (from its receiver reports), the publisher and another subscriber stay clean', async () => {
    const members: SfuMember[] = [];
    const receivers: RtpReceiver[] = [];
    try {
      const pub = await sfuMember(server.wsUrl, 'q-down', 'publisher', 440);
      members.push(pub);
      const listeners: Record<string, { member: SfuMember; quality: QualityMessage[] }> = {};
      for (const [name, dropEvery] of [['lossy', 10], ['clean', 0]] as const) {
        const member = await sfuMember(server.wsUrl, 'q-down', name, undefined);
        members.push(member);
        const quality: QualityMessage[] = [];
        member.agent.on('quality', (m) => quality.push(m));
        // A receiver as a browser has one: it sends receiver reports; the lossy one never sees every tenth packet.
        member.agent.on('track', (_publisher, track) => {
          const receiver = new RtpReceiver(track, { attach: false });
          receivers.push(receiver);
          const keep = track.onRtp;
          let n = 0;
          track.onRtp = (p) => {
            if (!isRtcp(p) && dropEvery > 0 && ++n % dropEvery === 0) return;
            keep?.(p);
            receiver.handleRtp(p);
          };
        });
        listeners[name] = { member, quality };
      }
      const mine = (name: string) => listeners[name]!.quality.filter((q) => q.id === listeners[name]!.member.agent.id);
      await until(() => mine('lossy').length >= 8 && mine('clean').length >= 8, 15_000, 'readings of both listeners');
      const lossy = mine('lossy').slice(-4);
      const clean = mine('clean').at(-1)!;
      console.log(`SFU downlink quality: lossy ${JSON.stringify(lossy.at(-1))}; clean ${JSON.stringify(clean)}`);
      const meanLoss = lossy.reduce((a, q) => a + q.packetLoss, 0) / 4;
      expect(meanLoss).toBeGreaterThanOrEqual(6);
      expect(meanLoss).toBeLessThanOrEqual(14);
      expect(lossy.at(-1)!.warnings).toContain('high-loss');
      expect(clean.packetLoss).toBeLessThan(2);
      expect(clean.warnings).toEqual([]);
      // The publisher is clean, as its subscribers hear it.
      const pubAtClean = listeners.clean!.quality.filter((q) => q.id === pub.agent.id).at(-1)!;
      expect(pubAtClean.packetLoss).toBeLessThan(2);
      expect(pubAtClean.warnings).toEqual([]);
    } finally {
      for (const r of receivers) r.close();
      for (const m of members) await m.stop();
    }
  });
});
