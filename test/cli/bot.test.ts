import { afterAll, describe, expect, it } from 'vitest';
import { MeshAgent } from '../../src/client/mesh-agent.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { runCli, startCli } from '../helpers/cli.js';
import { until } from '../helpers/rtc.js';
import { startTestServer } from '../helpers/server.js';
import { frequencyOf, sfuMember } from '../integration/sfu-helpers.js';

afterAll(() => cleanupRtc());

describe('callpeer bot', () => {
  it.each([
    [['bot', 'http://127.0.0.1:1/', '--tone', '440'], 'does not name a room'],
    [['bot', 'http://127.0.0.1:1/r/x', '--tone', '440', '--play', 'a.wav'], '--play and --tone go one at a time'],
    [['bot', 'http://127.0.0.1:1/r/x', '--tone', 'loud'], '--tone must be a frequency'],
    [['bot', 'http://127.0.0.1:1/r/x', '--loop'], '--loop needs --play'],
    [['bot', 'http://127.0.0.1:1/r/x', '--play', '/nonexistent.wav'], 'cannot read /nonexistent.wav'],
    [['bot', 'http://127.0.0.1:1/r/x', '--duration', '-3'], '--duration must be a positive number'],
    [['bot', 'http://127.0.0.1:1/r/x', '--tone', '440', '--ice-server', 'turn:nohost'], 'is a TURN URL without credentials'],
    [['bot', 'http://127.0.0.1:1/r/x', '--tone', '440'], 'cannot reach ws://127.0.0.1:1/ws'],
    [['bot', '--tone', '440'], 'which call? give its link'],
    [['bot', 'http://127.0.0.1:1/r/x', '--whip', 'http://127.0.0.1:1/whip/x', '--tone', '440'], 'give a room URL or --whip URL, not both'],
    [['bot', '--whip', 'http://127.0.0.1:1/whip/x'], '--whip publishes --tone or --play'],
    [['bot', '--whip', 'http://127.0.0.1:1/whip/x', '--tone', '440', '--echo'], '--echo needs a call to hear'],
    [['bot', '--whip', 'http://127.0.0.1:1/whip/x', '--tone', '440', '--room', 'y'], 'a WHIP URL names its room itself'],
    [['bot', '--whip', 'http://127.0.0.1:2/whip/x', '--tone', '440', '--bind', '127.0.0.1'], 'cannot reach http://127.0.0.1:2/whip/x: connect ECONNREFUSED'],
  ])('%j exits 1 naming the problem', async (args, message) => {
    const r = await runCli(args as string[]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('fix: ');
  });

  it('joins by link, reports participants and stats, and leaves cleanly on SIGINT', async () => {
    const server = await startTestServer();
    const person = new MeshAgent({ wsUrl: server.wsUrl, room: 'cli-bot', name: 'Ada', peer: { bindAddress: '127.0.0.1' } });
    await person.start();
    const bot = await startCli(['bot', `${server.url}/r/cli-bot`, '--tone', '440', '--bind', '127.0.0.1', '--stats-interval', '0.5', '--name', 'Beeper'], /stats Ada: connected; in \d+ pkts .* out [1-9]\d* pkts/, { timeoutMs: 15_000 });
    expect(bot.output()).toContain('joined room cli-bot as');
    expect(server.rooms.get('cli-bot')?.participants().map((p) => [p.name, p.role])).toContainEqual(['Beeper', 'bot']);
    bot.child.kill('SIGINT');
    const r = await bot.exited;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('left the room (SIGINT)');
    await person.close();
    await server.close();
  });

  it('--whip to a server that refuses (a mesh room) exits 1 with its reason and a fix', async () => {
    const server = await startTestServer({ rtcBind: '127.0.0.1' });
    const r = await runCli(['bot', '--whip', `${server.url}/whip/mesh`, '--tone', '440', '--bind', '127.0.0.1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('WHIP endpoint refused (409 SFU_NOT_ENABLED): room "mesh" is a mesh room');
    expect(r.stderr).toContain('fix: ');
    await server.close();
  });

  it('--whip publishes a tone into an SFU room through WHIP; the room hears it; SIGINT ends the session', async () => {
    const server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
    const listener = await sfuMember(server.wsUrl, 'cli-whip', 'listener', undefined);
    const bot = await startCli(['bot', '--whip', `${server.url}/whip/cli-whip?name=Radio`, '--tone', '550', '--bind', '127.0.0.1'], /publishing to/, { timeoutMs: 15_000 });
    expect(bot.output()).toMatch(new RegExp(`session ${server.url}/whip/cli-whip/`));
    const radio = () => server.rooms.get('cli-whip')?.participants().find((p) => p.name === 'Radio');
    await until(() => (listener.heard.get(radio()?.id ?? '')?.length ?? 0) >= 50, 10_000, 'the listener hears the WHIP bot');
    expect(Math.abs(frequencyOf(listener.heard.get(radio()!.id)!) - 550)).toBeLessThanOrEqual(2);
    bot.child.kill('SIGINT');
    const r = await bot.exited;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('stopped publishing (SIGINT; DELETE answered 200)');
    await until(() => radio() === undefined, 5000, 'the WHIP participant left');
    await listener.stop();
    await server.close();
  });
});
