/**
 * A server restarted under a live SFU call, by SIGTERM (clients told 1001) and by kill -9
 * (sockets just drop), on the same port: every client finds it again on its own within 5 s
 * of it listening (two SfuAgent members, a phone on /ws/pcm in the room, `callpeer record`),
 * with its name, role and mute state, media flows again, and the recording goes on in the
 * same directory on the same timeline. The call page does the same (test/browser/server-kill).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PcmClient } from '../../src/client/pcm-client.js';
import { ToneFrames } from '../../src/media/frames.js';
import type { Manifest } from '../../src/bots/recorder/manifest.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { startCli } from '../helpers/cli.js';
import { sfuMember, type SfuMember } from './sfu-helpers.js';

const LISTENING = /callpeer listening/;
const ROOM = 'live';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ApiParticipant { id: string; name: string; role: string; audio: boolean }

type Cli = Awaited<ReturnType<typeof startCli>>;
let server: Cli | undefined;
let recorder: Cli | undefined;
let members: SfuMember[] = [];
let phone: PcmClient | undefined;

afterEach(async () => {
  await Promise.all(members.map((m) => m.stop()));
  members = [];
  await phone?.close();
  recorder?.child.kill('SIGTERM');
  await recorder?.exited;
  server?.child.kill('SIGTERM');
  await server?.exited;
  cleanupRtc();
});

function serve(port = '0'): Promise<Cli> {
  return startCli(['serve', '--host', '127.0.0.1', '--port', port, '--topology', 'sfu', '--rtc-bind', '127.0.0.1'], LISTENING, { timeoutMs: 20_000 });
}

async function participants(base: string): Promise<ApiParticipant[]> {
  try {
    const res = await fetch(`${base}/api/rooms/${ROOM}`);
    if (res.status !== 200) return [];
    return ((await res.json()) as { participants: ApiParticipant[] }).participants;
  } catch {
    return [];
  }
}

describe.each(['SIGTERM', 'SIGKILL'] as const)('a server restarted with %s under a live SFU call', (signal) => {
  it('every client re-joins on its own within 5 s of the server listening again, as it was', async () => {
    server = await serve();
    const base = /"url":"([^"]+)"/.exec(server.output())![1]!;
    const port = new URL(base).port;
    const wsUrl = `${base.replace(/^http/, 'ws')}/ws`;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'callpeer-restart-'));

    const ann = await sfuMember(wsUrl, ROOM, 'Ann', 440);
    const bob = await sfuMember(wsUrl, ROOM, 'Bob', 880);
    members = [ann, bob];
    ann.agent.client.media({ audio: false }); // Ann mutes before the restart: she stays muted after it
    phone = new PcmClient({ url: base, room: ROOM, name: 'Phone', codec: 'pcm', rate: 16000 });
    await phone.connect();
    phone.play(new ToneFrames(660, 16000));
    recorder = await startCli(['record', wsUrl, '--room', ROOM, '--out', dir, '--bind', '127.0.0.1'], /> 0\d-/, { timeoutMs: 15_000 });
    await expect.poll(async () => (await participants(base)).length, { timeout: 10_000 }).toBe(4);
    const before = await participants(base);
    expect(before.find((p) => p.name === 'Ann')!.audio).toBe(false);
    await sleep(1000);

    server.child.kill(signal);
    await server.exited;
    const downAt = Date.now();
    await sleep(1500); // down long enough for every client to notice and back off
    server = await serve(port);
    const upAt = Date.now();
    let rejoinedMs = NaN;
    for (;;) {
      const now = await participants(base);
      if (now.length === 4) { rejoinedMs = Date.now() - upAt; break; }
      if (Date.now() - upAt > 15_000) throw new Error(`after 15 s: ${JSON.stringify(now)}`);
      await sleep(50);
    }
    const after = await participants(base);
    console.log(`${signal}: every client back ${rejoinedMs} ms after the server listened again`);
    expect(rejoinedMs).toBeLessThanOrEqual(5000);
    const summary = (ps: ApiParticipant[]) => ps.map((p) => `${p.name}/${p.role}/${p.audio}`).sort();
    expect(summary(after)).toEqual(summary(before));

    // Media flows again, through the new server on new connections: Bob hears the phone (Ann
    // is muted) under its new participant id.
    const phoneId = after.find((p) => p.name === 'Phone')!.id;
    await expect.poll(() => bob.heard.get(phoneId)?.length ?? 0, { timeout: 10_000 }).toBeGreaterThan(50);

    // The recording goes on in the same directory, on the same timeline.
    await sleep(2000);
    recorder.child.kill('SIGTERM');
    await recorder.exited;
    recorder = undefined;
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const startedAt = Date.parse(manifest.startedAt);
    expect(manifest.connections.length).toBeGreaterThanOrEqual(2);
    const later = manifest.files.filter((f) => f.offsetMs > downAt - startedAt);
    expect(later.length, 'files after the restart').toBeGreaterThan(0);
    // Each of them starts where the wall clock says, give or take the re-join.
    for (const f of later) expect(f.offsetMs).toBeLessThan(upAt - startedAt + 5000 + 1000);
    console.log(`${signal}: recording ${manifest.files.length} files, ${manifest.connections.length} connections; after the restart: ${later.map((f) => `${f.name}@${(f.offsetMs / 1000).toFixed(1)}s`).join(', ')}`);
  }, 60_000);
});

describe('callpeer pcm in a room when its server is killed', () => {
  it('says the connection was lost, keeps trying while the server is down, and is back in the room when it returns', async () => {
    server = await serve();
    const base = /"url":"([^"]+)"/.exec(server.output())![1]!;
    const port = new URL(base).port;
    const pcm = await startCli(['pcm', base, '--room', ROOM, '--name', 'Phone', '--tone', '440', '--duration', '12'], /connected to room/, { timeoutMs: 15_000 });
    try {
      server.child.kill('SIGKILL');
      await server.exited;
      await sleep(1500);
      server = await serve(port);
      await expect.poll(() => (pcm.output().match(/connected to room/g) ?? []).length, { timeout: 10_000 }).toBe(2);
      const out = pcm.output();
      expect(out).toMatch(/^connection lost \(1006\); reconnecting in \d+\.\d s$/m);
      expect(out).toMatch(/^server still unreachable; trying again in \d+\.\d s$/m);
      await expect.poll(async () => (await participants(base)).map((p) => p.name), { timeout: 5000 }).toEqual(['Phone']);
    } finally {
      pcm.child.kill('SIGTERM');
      await pcm.exited;
    }
  }, 40_000);
});

