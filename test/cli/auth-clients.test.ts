/** Every client command against a server with auth on: --token (or CALLPEER_TOKEN) works, none is refused plainly. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { mintToken } from '../../src/auth/tokens.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { runCli, startCli } from '../helpers/cli.js';
import { startTestServer } from '../helpers/server.js';

const SECRET = 'cli-clients-secret-of-at-least-32-by';
let server: RunningServer;
let admin: string;
beforeAll(async () => {
  server = await startTestServer({ authSecret: SECRET });
  admin = await mintToken({ secret: SECRET, identity: 'ops', room: '*', roles: ['admin'], ttlSeconds: 600 });
});
afterAll(async () => {
  await server.close();
  cleanupRtc();
});

const noToken = { CALLPEER_TOKEN: '' };
const settle = () => new Promise((r) => setTimeout(r, 500));

describe('client commands with auth on', () => {
  it('bot: CALLPEER_TOKEN lets it in; without a token it exits 1 saying the server needs one', async () => {
    const bot = await startCli(['bot', `${server.url}/r/cli-bot`, '--tone', '440', '--bind', '127.0.0.1'], /joined room cli-bot/, { env: { CALLPEER_TOKEN: admin }, timeoutMs: 15_000 });
    await settle(); // its Ctrl-C handler is set right after the join
    bot.child.kill('SIGINT');
    expect((await bot.exited).code).toBe(0);
    const refused = await runCli(['bot', `${server.url}/r/cli-bot`, '--tone', '440', '--bind', '127.0.0.1'], { env: noToken, timeoutMs: 15_000 });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/needs a token/);
  });

  it('record: --token lets it in; a token without the recorder role is refused with the reason and the fix', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-authrec-'));
    const rec = await startCli(['record', `${server.url}/r/cli-rec`, '--out', dir, '--bind', '127.0.0.1', '--token', admin], /recording room cli-rec/, { timeoutMs: 15_000 });
    await settle();
    rec.child.kill('SIGINT');
    expect((await rec.exited).code).toBe(0);
    const participant = await mintToken({ secret: SECRET, identity: 'p', room: '*', ttlSeconds: 600 });
    const refused = await runCli(['record', `${server.url}/r/cli-rec`, '--out', dir, '--bind', '127.0.0.1', '--duration', '1'], { env: { CALLPEER_TOKEN: participant }, timeoutMs: 15_000 });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/does not grant the role "recorder"/);
    expect(refused.stderr).toMatch(/fix: .*--role recorder/);
  });

  it('pcm: --token gets it paired; without one it exits 1 with UNAUTHORIZED in plain words', async () => {
    const a = await startCli(['pcm', `${server.url}/duo?pair=cli-pcm`, '--tone', '440', '--token', admin], /waiting for a partner/, { timeoutMs: 15_000 });
    const b = await startCli(['pcm', `${server.url}/duo?pair=cli-pcm`, '--tone', '660'], /connected: receiving/, { env: { CALLPEER_TOKEN: admin }, timeoutMs: 15_000 });
    for (const p of [a, b]) p.child.kill('SIGINT');
    expect((await a.exited).code).toBe(0);
    const refused = await runCli(['pcm', `${server.url}/duo?pair=cli-pcm2`, '--tone', '440', '--duration', '1'], { env: noToken, timeoutMs: 15_000 });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused the session: this server needs a token/);
  });

  it('loadtest: --token lets every peer in (exit 0); without one every peer fails and it says why', async () => {
    const ok = await runCli(['loadtest', server.url, '--rooms', '1', '--peers', '2', '--ramp', '20', '--duration', '1', '--token', admin], { timeoutMs: 30_000 });
    expect(ok.code).toBe(0);
    const refused = await runCli(['loadtest', server.url, '--rooms', '1', '--peers', '2', '--ramp', '20', '--duration', '1'], { env: noToken, timeoutMs: 30_000 });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/errors +UNAUTHORIZED 2/);
    expect(refused.stderr).toMatch(/no peer could join \(UNAUTHORIZED 2\)/);
    expect(refused.stderr).toMatch(/fix: .*--token/);
  });
});
