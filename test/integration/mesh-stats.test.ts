/**
 * Node members of a mesh room report what they receive (`stats`), so the server's `quality`
 * about the others comes from them: bots and the recorder over real node-datachannel peers on
 * loopback, loss and delay put in their path by the test. Server rounds shortened to 500 ms.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Bot } from '../../src/bots/bot.js';
import { Recorder } from '../../src/bots/recorder/recorder.js';
import type { MeshAgent } from '../../src/client/mesh-agent.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { isRtcp } from '../../src/media/rtp.js';
import type { ClientMessage, QualityMessage } from '../../src/protocol/signaling.js';
import { until } from '../helpers/rtc.js';
import { useTestServer } from '../helpers/server.js';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PEER = { bindAddress: '127.0.0.1' };
const ctx = useTestServer({}, { rtc: true, qualityIntervalMs: 500 });

const closing: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const c of closing.splice(0)) await c.close();
});

/** A bot playing a tone, closed after the test; what its agent hears of `quality` and the `stats` it sends. */
async function toneBot(room: string, name: string, hz: number): Promise<{ bot: Bot; id: string; quality: QualityMessage[]; sent: ClientMessage[] }> {
  const bot = new Bot({ wsUrl: ctx.server.wsUrl, room, name, source: new ToneSource(hz), peer: PEER });
  closing.push(bot);
  const quality: QualityMessage[] = [];
  const joined = await bot.start();
  bot.agent.on('quality', (q) => quality.push(q));
  const client = (bot.agent as MeshAgent).client;
  const sent: ClientMessage[] = [];
  const send = client.send.bind(client);
  client.send = (m) => {
    sent.push(m);
    send(m);
  };
  return { bot, id: joined.id, quality, sent };
}

describe('Node mesh members report what they receive', () => {
  it('two bots: each one\'s stats make the server\'s reading of the other within 6 s; RTCP held back 100 ms shows as the round trip', async () => {
    const room = 'stats-bots';
    const a = await toneBot(room, 'A', 440);
    const joinedAt = performance.now();
    const b = await toneBot(room, 'B', 660);
    // B's RTCP (its sender and receiver reports) reaches A 100 ms late: A's round trip to B grows by as much.
    const link = (b.bot.agent as MeshAgent).peers()[0]!;
    for (const track of link.peer.tracks()) {
      const send = track.send.bind(track);
      track.send = (p) => {
        if (!isRtcp(p)) return send(p);
        const copy = Buffer.from(p);
        setTimeout(() => send(copy), 100);
        return true;
      };
    }
    await until(() => a.quality.some((q) => q.id === b.id) && b.quality.some((q) => q.id === a.id), 6000, 'readings of each other at both');
    const first = performance.now() - joinedAt;
    // Each sent stats about the other only (never about itself), with the protocol's fields.
    const stats = (m: { sent: ClientMessage[] }) => m.sent.filter((x) => x.type === 'stats');
    expect(stats(a).length).toBeGreaterThan(0);
    expect(new Set(stats(a).map((m) => (m as { peer: string }).peer))).toEqual(new Set([b.id]));
    expect(new Set(stats(b).map((m) => (m as { peer: string }).peer))).toEqual(new Set([a.id]));
    // Once the delayed reports came in, A's reading of B has a round trip of about 100 ms. B
    // times the same loop (its sender reports go out late, so A's reports on them come back late).
    await until(() => a.quality.some((q) => q.id === b.id && q.rttMs >= 90), 8000, 'a round trip of ~100 ms about B');
    await until(() => stats(b).some((m) => (m as { rttMs: number }).rttMs >= 90), 8000, 'B timing ~100 ms too');
    const aboutB = a.quality.filter((q) => q.id === b.id).at(-1)!;
    const aboutA = b.quality.filter((q) => q.id === a.id).at(-1)!;
    console.log(`first readings ${first.toFixed(0)} ms after B joined; about B: ${JSON.stringify(aboutB)}; about A: ${JSON.stringify(aboutA)}`);
    for (const q of [aboutA, aboutB]) {
      // Loopback loses nothing; one Opus tone at 20 ms is 20-120 kbit/s with headers.
      expect(q.packetLoss).toBe(0);
      expect(q.bitrateKbps).toBeGreaterThan(20);
      expect(q.bitrateKbps).toBeLessThan(120);
      expect(q.jitterMs).toBeLessThan(30);
      expect(q.warnings).toEqual([]);
    }
    expect(aboutB.rttMs).toBeGreaterThanOrEqual(90);
    expect(aboutB.rttMs).toBeLessThan(300);
    // The server's reading of B is what A said: the room API has it too.
    const api = await (await fetch(`${ctx.server.url}/api/rooms/${room}`)).json() as { participants: { id: string; quality?: QualityMessage }[] };
    expect(api.participants.find((p) => p.id === b.id)!.quality).toMatchObject({ rttMs: expect.any(Number), packetLoss: 0 });
  });

  it('a recorder losing every 10th packet of a bot: the bot\'s reading shows ~10 % and high-loss; the silent recorder is reported on by nobody', async () => {
    const room = 'stats-recorder';
    const rec = new Recorder({
      wsUrl: ctx.server.wsUrl, room, outDir: mkdtempSync(path.join(os.tmpdir(), 'callpeer-stats-')), peer: PEER, dropPacket: (i) => i % 10 === 9,
    });
    closing.push({ close: () => rec.stop() });
    const recJoined = await rec.start();
    const a = await toneBot(room, 'A', 440);
    await until(() => a.quality.some((q) => q.id === a.id && q.warnings.includes('high-loss')), 8000, 'the bot told of its high loss');
    const own = a.quality.filter((q) => q.id === a.id).at(-1)!;
    expect(own.packetLoss).toBeGreaterThanOrEqual(7);
    expect(own.packetLoss).toBeLessThanOrEqual(13);
    expect(own.score).toBeLessThan(80);
    // The recorder sends nothing: the bot reports nothing about it, so nobody has a reading of it.
    expect(a.sent.filter((m) => m.type === 'stats')).toEqual([]);
    expect(a.quality.filter((q) => q.id === recJoined.id)).toEqual([]);
  });
});
