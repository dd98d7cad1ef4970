/**
 * The bot in an SFU room (`serve --topology sfu`), with SfuAgent members on loopback: a tone is
 * sent once and heard through the server, echo goes back on the bot's one track (heard by
 * everyone), stats come from the server's receiver reports; and `callpeer bot` (built CLI:
 * `npm run build` first) against an SFU server.
 */
import { describe, expect, it } from 'vitest';
import { Bot } from '../../src/bots/bot.js';
import { SfuAgent } from '../../src/client/sfu-agent.js';
import { parseRtpHeader } from '../../src/media/rtp.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { startCli } from '../helpers/cli.js';
import { until } from '../helpers/rtc.js';
import { useTestServer } from '../helpers/server.js';
import { frequencyOf, PEER, sfuMember } from './sfu-helpers.js';

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });

describe('callpeer bot in an SFU room', () => {
  it('has no agent before start() (NOT_IN_ROOM), and a bot closed while joining rejects CLOSED and leaves', async () => {
    const bot = new Bot({ wsUrl: ctx.server.wsUrl, room: 'sfu-early', source: new ToneSource(440), peer: PEER });
    expect(() => bot.agent).toThrow(expect.objectContaining({ code: 'NOT_IN_ROOM' }));
    const joining = bot.start();
    await bot.close();
    await expect(joining).rejects.toMatchObject({ code: 'CLOSED' });
    await until(() => ctx.server.rooms.get('sfu-early') === undefined, 3000, 'the room emptied');
  });

  it('a tone bot is heard through the server at 440 Hz (±1 Hz); its stats are the server connection and each publisher heard', async () => {
    const talker = await sfuMember(ctx.server.wsUrl, 'sfu-tone', 'talker', 700);
    const bot = new Bot({ wsUrl: ctx.server.wsUrl, room: 'sfu-tone', source: new ToneSource(440), peer: PEER });
    const joined = await bot.start();
    expect(joined.room.topology).toBe('sfu');
    expect(bot.agent).toBeInstanceOf(SfuAgent);
    const listener = await sfuMember(ctx.server.wsUrl, 'sfu-tone', 'ear', undefined);
    const botId = bot.agent.id!;
    await until(() => (listener.heard.get(botId)?.length ?? 0) >= 75, 10_000, '1.5 s of the bot');
    expect(Math.abs(frequencyOf(listener.heard.get(botId)!.slice(0, 75)) - 440)).toBeLessThanOrEqual(1);
    // The server's receiver reports (every ~1 s) tell the bot how its one stream arrives.
    // (RTT once a report follows one of our sender reports.)
    await until(() => bot.stats()[0]?.sent.rttMs !== undefined, 5000, 'a receiver report from the server with RTT');
    // (A connection libdatachannel refused and remade starts its counts again: give it time.)
    await until(() => (bot.stats()[0]?.heard?.[0]?.received.packets ?? 0) > 50, 5000, 'a second of the talker in the stats');
    const [s, ...more] = bot.stats();
    expect(more).toEqual([]);
    expect(s).toMatchObject({ id: 'server', name: 'server', connected: true });
    expect(s!.sent.packets).toBeGreaterThan(50);
    expect(s!.sent.lossPercent).toBe(0);
    expect(s!.sent.rttMs).toBeGreaterThanOrEqual(0);
    expect(s!.sent.rttMs).toBeLessThan(100);
    // It hears the talker (not the listener, who publishes nothing), and `received` sums it.
    expect(s!.heard).toEqual([{ id: talker.agent.id, name: 'talker', received: expect.objectContaining({ lost: 0 }) }]);
    expect(s!.heard![0]!.received.packets).toBeGreaterThan(50);
    expect(s!.received).toEqual(s!.heard![0]!.received);
    expect(listener.agent.roomParticipants()).toContainEqual(expect.objectContaining({ id: botId, role: 'bot', name: 'callpeer bot' }));
    // A publisher who leaves is dropped from the stats.
    const left = new Promise((r) => bot.once('participant-left', r));
    await talker.stop();
    await left;
    expect(bot.stats()[0]!.heard).toEqual([]);
    await bot.close();
    await listener.stop();
  });

  it('an echo bot sends a publisher its own 600 Hz tone back, and the rest of the room hears it too', async () => {
    const bot = new Bot({ wsUrl: ctx.server.wsUrl, room: 'sfu-echo', echo: true, peer: PEER });
    await bot.start();
    const person = await sfuMember(ctx.server.wsUrl, 'sfu-echo', 'person', 600);
    const other = await sfuMember(ctx.server.wsUrl, 'sfu-echo', 'other', undefined);
    const botId = bot.agent.id!;
    await until(() => (person.heard.get(botId)?.length ?? 0) >= 75 && (other.heard.get(botId)?.length ?? 0) >= 75, 10_000, 'echoed audio');
    expect(Math.abs(frequencyOf(person.heard.get(botId)!.slice(0, 75)) - 600)).toBeLessThanOrEqual(1);
    expect(Math.abs(frequencyOf(other.heard.get(botId)!.slice(0, 75)) - 600)).toBeLessThanOrEqual(1);
    await person.stop();
    await other.stop();
    await bot.close();
  });

  it('with two publishers the echo carries one of them at a time, not a mix of packets', async () => {
    const bot = new Bot({ wsUrl: ctx.server.wsUrl, room: 'sfu-echo2', echo: true, peer: PEER });
    await bot.start();
    const a = await sfuMember(ctx.server.wsUrl, 'sfu-echo2', 'a', 500);
    await until(() => (bot.stats()[0]?.heard?.[0]?.received.packets ?? 0) > 0, 10_000, 'the bot hears a');
    const b = await sfuMember(ctx.server.wsUrl, 'sfu-echo2', 'b', 800);
    const botId = bot.agent.id!;
    await until(() => (b.heard.get(botId)?.length ?? 0) >= 100 && bot.stats()[0]!.heard!.length === 2, 10_000, '2 s of echo at b');
    // Both talk all the time, so a (first) keeps the echo: its tone, its packets' timing (a
    // packet a's busy pacer skipped is a 40 ms step; two streams' timestamps would jump anywhere).
    const echo = b.heard.get(botId)!.slice(-100);
    const ts = echo.map((p) => parseRtpHeader(p).timestamp);
    const steps = ts.slice(1).map((t, i) => (t - ts[i]! + 2 ** 32) % 2 ** 32);
    expect(steps.filter((d) => d % 960 !== 0 || d < 960 || d > 3 * 960)).toEqual([]);
    expect(Math.abs(frequencyOf(echo) - 500)).toBeLessThanOrEqual(1);
    await a.stop();
    await b.stop();
    await bot.close();
  });

  it('`callpeer bot <url>/r/<room>` joins an SFU room, is heard, prints stats per publisher, leaves on SIGINT', async () => {
    const ada = await sfuMember(ctx.server.wsUrl, 'sfu-cli', 'Ada', 600);
    const bot = await startCli(['bot', `${ctx.server.url}/r/sfu-cli`, '--tone', '440', '--bind', '127.0.0.1', '--stats-interval', '0.5', '--name', 'Beeper'],
      /stats Ada \(via server\): in [1-9]\d* pkts/, { timeoutMs: 15_000 });
    expect(bot.output()).toContain('SFU room: audio goes through the server');
    expect(bot.output()).toMatch(/stats server: connected; in \d+ pkts .*; out [1-9]\d* pkts/);
    const beeper = ada.agent.roomParticipants().find((p) => p.name === 'Beeper');
    expect(beeper?.role).toBe('bot');
    await until(() => (ada.heard.get(beeper!.id)?.length ?? 0) >= 50, 8000, 'the CLI bot heard');
    expect(Math.abs(frequencyOf(ada.heard.get(beeper!.id)!.slice(0, 50)) - 440)).toBeLessThanOrEqual(1);
    bot.child.kill('SIGINT');
    const r = await bot.exited;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('left the room (SIGINT)');
    await ada.stop();
  });
});
