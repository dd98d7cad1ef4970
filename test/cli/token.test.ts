import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { runCli } from '../helpers/cli.js';
import { Probe, startTestServer } from '../helpers/server.js';

const SECRET = 'cli-test-secret-that-is-32-bytes-long';
let server: RunningServer;
beforeAll(async () => { server = await startTestServer({ authSecret: SECRET }); });
afterAll(() => server.close());

describe('callpeer token', () => {
  it('prints an HS256 JWT that node:crypto verifies, with the claims asked for', async () => {
    const r = await runCli(['token', '--secret', SECRET, '--room', 'standup', '--identity', 'ada', '--name', 'Ada', '--role', 'recorder', '--role', 'participant', '--ttl', '2h', '--no-publish']);
    expect(r.code).toBe(0);
    const [header, payload, sig] = r.stdout.trim().split('.');
    expect(createHmac('sha256', SECRET).update(`${header}.${payload}`).digest('base64url')).toBe(sig);
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    expect(claims).toMatchObject({ sub: 'ada', name: 'Ada', room: 'standup', roles: ['recorder', 'participant'], publish: false });
    expect(claims.exp - claims.iat).toBe(7200);
  });

  it('a token it prints (secret from CALLPEER_AUTH_SECRET) lets an admin open a room and a recorder join it', async () => {
    const adminTok = (await runCli(['token', '--room', '*', '--identity', 'root', '--role', 'admin'], { env: { CALLPEER_AUTH_SECRET: SECRET } })).stdout.trim();
    const recTok = (await runCli(['token', '--room', 'cli-room', '--identity', 'rec', '--role', 'recorder'], { env: { CALLPEER_AUTH_SECRET: SECRET } })).stdout.trim();
    const a = await Probe.open(server.wsUrl);
    await a.join('cli-room', { token: adminTok });
    const b = await Probe.open(server.wsUrl);
    const jb = await b.join('cli-room', { token: recTok, role: 'recorder' });
    expect(jb.participants[0]).toMatchObject({ identity: 'root' });
    a.close();
    b.close();
  });

  it.each([
    [['--room', 'r', '--identity', 'x'], /no secret/],
    [['--secret', 'short', '--room', 'r', '--identity', 'x'], /at least 32 bytes/],
    [['--secret', SECRET, '--room', 'a b', '--identity', 'x'], /--room/],
    [['--secret', SECRET, '--room', 'r', '--identity', 'x', '--role', 'owner'], /unknown --role owner/],
    [['--secret', SECRET, '--room', 'r', '--identity', 'x', '--ttl', 'forever'], /--ttl/],
    [['--secret', SECRET, '--identity', 'x'], /--room/],
  ])('refuses %j with one line and a fix, exit 1', async (args, message) => {
    const r = await runCli(['token', ...args], { env: { CALLPEER_AUTH_SECRET: '' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });
});
