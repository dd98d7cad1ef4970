/**
 * The room API as Node members see it, with auth on: a recorder (the CLI) whose room is
 * deleted finalizes its files and exits 0; a kicked bot leaves for good; in an SFU room a
 * member whose token says publish:false is not forwarded, and server mute stops forwarding
 * until the member unmutes itself.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mintToken } from '../../src/auth/tokens.js';
import { Bot } from '../../src/bots/bot.js';
import type { Manifest } from '../../src/bots/recorder/manifest.js';
import type { SignalingClient } from '../../src/client/signaling-client.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { startCli } from '../helpers/cli.js';
import { until } from '../helpers/rtc.js';
import { useTestServer } from '../helpers/server.js';
import { decodeRecording } from './recorder-helpers.js';

const SECRET = 'moderation-test-secret-of-32-bytes!!';
const PEER = { bindAddress: '127.0.0.1' };
const mesh = useTestServer({ authSecret: SECRET }, { rtc: true });
/** Bots join as `bot`: their tokens grant it. */
const token = (identity: string, extra: Partial<Parameters<typeof mintToken>[0]> = {}) =>
  mintToken({ secret: SECRET, identity, room: '*', ttlSeconds: 600, roles: ['bot'], ...extra });

async function api(base: string, method: string, route: string, body?: unknown): Promise<number> {
  const admin = await token('root', { roles: ['admin'] });
  const res = await fetch(`${base}${route}`, { method, headers: { authorization: `Bearer ${admin}` }, ...(body !== undefined && { body: JSON.stringify(body) }) });
  return res.status;
}

async function toneBot(wsUrl: string, room: string, hz: number, tok: string, name = `tone${hz}`): Promise<Bot> {
  const bot = new Bot({ wsUrl, room, name, source: new ToneSource(hz), peer: PEER, token: tok });
  await bot.start();
  return bot;
}

describe('moderation seen by Node members', () => {
  it('a deleted room: `callpeer record` says so, finalizes its files (status complete) and exits 0', async () => {
    expect(await api(mesh.server.url, 'POST', '/api/rooms', { id: 'rec-del' })).toBe(201);
    const bot = await toneBot(mesh.server.wsUrl, 'rec-del', 440, await token('talker'));
    const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-moder-'));
    const recTok = await token('rec', { roles: ['recorder'] });
    const rec = await startCli(['record', mesh.server.wsUrl, '--room', 'rec-del', '--out', dir, '--bind', '127.0.0.1', '--token', recTok], /> 01-/, { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await api(mesh.server.url, 'DELETE', '/api/rooms/rec-del')).toBe(204);
    const done = await rec.exited;
    await bot.close();
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/room was closed/);
    expect(done.stdout).toMatch(/stopped \(removed by the server\)/);
    const manifest: Manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.files).toHaveLength(1);
    expect(manifest.files[0]).toMatchObject({ status: 'complete' });
    const { pcm } = decodeRecording(path.join(dir, manifest.files[0]!.file));
    expect(pcm.length).toBeGreaterThan(48000 / 2);
  });

  it('a kicked bot is told why, closes, and does not come back', async () => {
    expect(await api(mesh.server.url, 'POST', '/api/rooms', { id: 'kick-bot' })).toBe(201);
    const stay = await toneBot(mesh.server.wsUrl, 'kick-bot', 440, await token('stay'));
    const bot = await toneBot(mesh.server.wsUrl, 'kick-bot', 660, await token('go'), 'kickme');
    const removed = new Promise((r) => bot.once('removed', r));
    const closed = new Promise((r) => bot.once('closed', () => r(true)));
    const id = bot.agent.id!;
    expect(await api(mesh.server.url, 'POST', `/api/rooms/kick-bot/participants/${id}/kick`, { reason: 'test over' })).toBe(204);
    expect(await removed).toMatchObject({ reason: 'kicked', message: expect.stringMatching(/test over/) });
    expect(await closed).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    expect(mesh.server.rooms.get('kick-bot')?.participants().map((p) => p.name)).toEqual(['tone440']);
    await stay.close();
  });
});

describe('SFU rooms with auth on', () => {
  const sfu = useTestServer({ authSecret: SECRET, topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });

  /** Packets a listener bot heard from each publisher, by name. */
  const heardFrom = (listener: Bot): Record<string, number> =>
    Object.fromEntries(listener.stats().flatMap((s) => s.heard ?? []).map((h) => [h.name, h.received.packets]));

  it('publish:false: the member is let in as a listener and nothing of its audio is forwarded', async () => {
    expect(await api(sfu.server.url, 'POST', '/api/rooms', { id: 'nopub' })).toBe(201);
    const speaker = await toneBot(sfu.server.wsUrl, 'nopub', 440, await token('speaker'), 'speaker');
    const silenced = await toneBot(sfu.server.wsUrl, 'nopub', 660, await token('quiet', { publish: false }), 'quiet');
    const listener = await toneBot(sfu.server.wsUrl, 'nopub', 880, await token('listener'), 'listener');
    await until(() => (heardFrom(listener).speaker ?? 0) > 100, 15_000, 'the listener hears the speaker');
    expect(heardFrom(listener).quiet ?? 0).toBe(0);
    expect(sfu.server.rooms.get('nopub')?.participants().find((p) => p.name === 'quiet')).toMatchObject({ canPublish: false, identity: 'quiet' });
    for (const b of [speaker, silenced, listener]) await b.close();
  });

  it('deleting an SFU room in a call: every member is told (removed, room-closed), the server connections close, the room is gone', async () => {
    expect(await api(sfu.server.url, 'POST', '/api/rooms', { id: 'sfu-del', topology: 'sfu' })).toBe(201);
    const bots = [await toneBot(sfu.server.wsUrl, 'sfu-del', 440, await token('a'), 'a'), await toneBot(sfu.server.wsUrl, 'sfu-del', 660, await token('b'), 'b')];
    await until(() => bots.every((b) => b.stats().flatMap((x) => x.heard ?? []).some((h) => h.received.packets > 20)), 15_000, 'both hear each other');
    const removed = bots.map((b) => new Promise((r) => b.once('removed', r)));
    const closed = bots.map((b) => new Promise((r) => b.once('closed', () => r(true))));
    expect(await api(sfu.server.url, 'DELETE', '/api/rooms/sfu-del')).toBe(204);
    for (const r of await Promise.all(removed)) expect(r).toMatchObject({ reason: 'room-closed' });
    expect(await Promise.all(closed)).toEqual([true, true]);
    expect(sfu.server.rooms.get('sfu-del')).toBeUndefined();
    expect(await api(sfu.server.url, 'GET', '/api/rooms/sfu-del')).toBe(404);
  });

  it('server mute stops forwarding a publisher\'s audio until it unmutes itself', async () => {
    expect(await api(sfu.server.url, 'POST', '/api/rooms', { id: 'muting' })).toBe(201);
    const speaker = await toneBot(sfu.server.wsUrl, 'muting', 440, await token('speaker'), 'speaker');
    const listener = await toneBot(sfu.server.wsUrl, 'muting', 880, await token('listener'), 'listener');
    await until(() => (heardFrom(listener).speaker ?? 0) > 50, 15_000, 'the listener hears the speaker');
    expect(await api(sfu.server.url, 'POST', `/api/rooms/muting/participants/${speaker.agent.id}/mute`, { audio: false })).toBe(204);
    await new Promise((r) => setTimeout(r, 300));
    const atMute = heardFrom(listener).speaker!;
    await new Promise((r) => setTimeout(r, 1000));
    expect(heardFrom(listener).speaker! - atMute).toBeLessThanOrEqual(2);
    // It unmutes itself (`media {audio: true}`): forwarding resumes.
    (speaker.agent as unknown as { client: SignalingClient }).client.media({ audio: true });
    await until(() => heardFrom(listener).speaker! - atMute > 25, 5000, 'forwarding resumes');
    for (const b of [speaker, listener]) await b.close();
  });
});
