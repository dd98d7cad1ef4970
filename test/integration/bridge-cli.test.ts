/**
 * `callpeer bridge` (the built CLI) between an SFU room with a node-datachannel member and an
 * echo agent written from Twilio's message format: the member's tone comes back into the room
 * from the bridge; the CLI says what it does and ends with 0 when the agent hangs up or the
 * room is deleted, with 1 and a plain message when the agent cannot be reached or flags are wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { runCli, startCli } from '../helpers/cli.js';
import { until } from '../helpers/rtc.js';
import { startTestServer } from '../helpers/server.js';
import { frequencyOf, sfuMember } from './sfu-helpers.js';
import { TwilioAgent } from './twilio-agent.js';

// These run the built CLI (bin/callpeer.js -> dist/): `npm run build` first, as .ci/run does.
let server: RunningServer;
let agent: TwilioAgent;
beforeAll(async () => {
  server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
  agent = await TwilioAgent.listen();
  agent.echo = true;
});
afterAll(async () => {
  await agent.close();
  await server.close();
  cleanupRtc();
});

describe('callpeer bridge', () => {
  it('bridges a room to an echo agent: the room hears its echo; the agent hangs up (1000): exit 0', async () => {
    const member = await sfuMember(server.wsUrl, 'cli-bridge', 'member', 440);
    try {
      const cli = await startCli(['bridge', `${server.url}/r/cli-bridge`, '--to', agent.url, '--param', 'lang=en', '--bind', '127.0.0.1'], /joined room/, { timeoutMs: 30_000 });
      expect(cli.output()).toMatch(new RegExp(`^streaming to ${agent.url.replace(/[./]/g, '\\$&')} \\(twilio, stream MZ[0-9a-f]{32}\\)$`, 'm'));
      const stream = agent.last;
      expect(stream.start.customParameters).toEqual({ lang: 'en', room: 'cli-bridge' });
      const bridgeId = /^joined room cli-bridge as (\S+)/m.exec(cli.output())![1]!;
      await until(() => (member.heard.get(bridgeId)?.length ?? 0) >= 100, 15_000, 'the echo heard in the room');
      expect(Math.abs(frequencyOf(member.heard.get(bridgeId)!.slice(-100)) - 440)).toBeLessThanOrEqual(1);
      stream.ws.close(1000);
      const r = await cli.exited;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^left the room \(the agent ended the stream\)$/m);
    } finally {
      await member.stop();
    }
  }, 60_000);

  it('the room deleted: stop sent to the agent, exit 0', async () => {
    const cli = await startCli(['bridge', server.wsUrl.replace(/\/ws$/, ''), '--room', 'cli-bridge-del', '--to', agent.url, '--bind', '127.0.0.1'], /joined room/, { timeoutMs: 30_000 });
    const stream = agent.last;
    expect((await fetch(`${server.url}/api/rooms/cli-bridge-del`, { method: 'DELETE' })).status).toBe(204);
    const r = await cli.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^left the room \(removed\)$/m);
    await until(() => stream.closed, 5000, 'the agent socket closed');
    expect(stream.messages.at(-1)!.m.event).toBe('stop');
  }, 60_000);

  it('an agent that cannot be reached, and bad flags: exit 1 with a plain message and the fix', async () => {
    const cases: [string[], RegExp][] = [
      [['--to', 'ws://127.0.0.1:9/media'], /^callpeer: could not reach the agent at ws:\/\/127\.0\.0\.1:9\/media: .*\n {2}fix: check --to/m],
      [[], /^callpeer: --to is missing: the agent's media WebSocket\n {2}fix: add --to/m],
      [['--to', 'http://agent'], /^callpeer: --to must be a ws:\/\/ or wss:\/\/ URL/m],
      [['--to', agent.url, '--dialect', 'sip'], /^callpeer: --dialect must be twilio or raw \(got sip\)/m],
      [['--to', agent.url, '--dialect', 'raw', '--rate', '44100'], /^callpeer: --rate must be one of 8000, 16000, 24000, 48000 \(got 44100\)/m],
      [['--to', agent.url, '--param', 'novalue'], /^callpeer: --param must be key=value \(got "novalue"\)/m],
    ];
    for (const [flags, message] of cases) {
      const r = await runCli(['bridge', `${server.url}/r/cli-bridge-bad`, ...flags], { timeoutMs: 20_000 });
      expect(r.code, `${flags.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    }
    // Nobody joined the room on the way.
    expect((await fetch(`${server.url}/api/rooms/cli-bridge-bad`)).status).toBe(404);
  }, 60_000);
});
