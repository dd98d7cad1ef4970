/**
 * The one client-side agent contract (AgentEvents): the same consumer, written once against
 * RoomAgent, counts the RTP packets of each participant in a mesh room and in an SFU room, and
 * sees the same order of events (track-removed before participant-left, before link-closed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { Bot } from '../../src/bots/bot.js';
import type { RemoteTrack } from '../../src/client/agent-events.js';
import { joinRoom, type RoomAgent } from '../../src/client/room-agent.js';
import { isRtcp } from '../../src/media/rtp.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { until } from '../helpers/rtc.js';
import { startTestServer } from '../helpers/server.js';

const PEER = { bindAddress: '127.0.0.1' };

/** The consumer under test: it knows nothing of the topology. */
function countPackets(agent: RoomAgent) {
  const packets = new Map<string, number>();
  const live = new Set<RemoteTrack>();
  const order: string[] = [];
  agent.on('track-added', (t) => {
    live.add(t);
    if (t.kind !== 'audio') return;
    t.track.onRtp = (p) => { if (!isRtcp(p)) packets.set(t.participant.id, (packets.get(t.participant.id) ?? 0) + 1); };
  });
  agent.on('track-removed', (t) => {
    expect(live.delete(t)).toBe(true); // the object track-added passed
    t.track.onRtp = undefined;
    order.push(`track-removed ${t.participant.name}`);
  });
  agent.on('participant-left', (p) => order.push(`participant-left ${p.name}`));
  agent.on('link-closed', (l) => order.push(`link-closed ${l.participant?.name ?? 'server'}`));
  const heard = () => new Set([...live].map((t) => t.participant.name));
  return { packets, heard, order };
}

const servers: Record<'mesh' | 'sfu', RunningServer | undefined> = { mesh: undefined, sfu: undefined };
beforeAll(async () => {
  servers.mesh = await startTestServer();
  servers.sfu = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
});
afterAll(async () => {
  await servers.mesh?.close();
  await servers.sfu?.close();
  cleanupRtc();
});

describe('the agent contract', () => {
  it.each(['mesh', 'sfu'] as const)('one consumer counts each participant\'s packets in a %s room, and sees them go', async (topology) => {
    const wsUrl = servers[topology]!.wsUrl;
    const room = `contract-${topology}`;
    const alice = new Bot({ wsUrl, room, name: 'alice', source: new ToneSource(440), peer: PEER });
    const bob = new Bot({ wsUrl, room, name: 'bob', source: new ToneSource(660), peer: PEER });
    await alice.start();
    await bob.start();
    let counter: ReturnType<typeof countPackets> | undefined;
    const { agent } = await joinRoom({ wsUrl, room, name: 'ear', audio: false, peer: PEER }, (a) => { counter = countPackets(a); });
    const { packets, heard, order } = counter!;
    try {
      expect(agent.topology).toBe(topology);
      const [a, b] = [alice.agent.id!, bob.agent.id!];
      await until(() => (packets.get(a) ?? 0) >= 50 && (packets.get(b) ?? 0) >= 50, 10_000, 'a second of each bot');
      expect([...packets.keys()].sort()).toEqual([a, b].sort());
      expect(heard()).toEqual(new Set(['alice', 'bob']));

      // (From here on: a connection libdatachannel refused at setup was closed and made again,
      // and through an SFU a publisher's new track replaced the old one.)
      order.length = 0;
      await bob.close();
      await until(() => order.includes('participant-left bob'), 5000, 'bob left');
      expect(heard()).toEqual(new Set(['alice']));
      // In a mesh his connection closed; through an SFU only his forwarded track ended (it stays, idle).
      const expected = topology === 'mesh' ? ['track-removed bob', 'link-closed bob', 'participant-left bob'] : ['track-removed bob', 'participant-left bob'];
      expect(order.filter((e) => e.endsWith(' bob'))).toEqual(expected);
      const fromBob = packets.get(b)!;
      const fromAlice = packets.get(a)!;
      await until(() => packets.get(a)! >= fromAlice + 25, 5000, 'more of alice');
      expect(packets.get(b)).toBe(fromBob);
    } finally {
      await agent.close();
      await alice.close();
      await bob.close();
    }
    // Closing ends every track and then every link.
    expect(heard()).toEqual(new Set());
    expect(order.at(-1)).toBe(topology === 'mesh' ? 'link-closed alice' : 'link-closed server');
  }, 30_000);
});
