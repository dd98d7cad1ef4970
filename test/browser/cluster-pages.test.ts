/**
 * Rooms across nodes with real Chromium call pages (issue 17): servers sharing a real
 * redis-server. Two pages, each on its own node, in a mesh room and in an SFU room see and hear
 * each other; a recorder on a third node records both; when the room's node is killed (kill -9),
 * pages whose socket is on other nodes re-join through them within 10 s and meet again.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { Recorder } from '../../src/bots/recorder/recorder.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { hasChromium, launchBrowser, skipNote, toneWavFile, waitForPage, type Page, type TestBrowser } from '../helpers/browser.js';
import { startCli } from '../helpers/cli.js';
import { hasRedis, redisSkipNote, startRedis, type TestRedis } from '../helpers/redis.js';
import { startTestServer } from '../helpers/server.js';
import { has } from '../helpers/tools.js';
import { DEBUG_STATE, heardHz, joinCall, state, waitForPeersPlaying } from './call-page.js';

const TONE_HZ = 440;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasChromium() || !hasRedis() || !has('opusinfo'))(`call pages on different nodes${skipNote()}${redisSkipNote()}${has('opusinfo') ? '' : ' (skipped: opusinfo missing; apt-get install -y opus-tools)'}`, { timeout: 90_000 }, () => {
  let redis: TestRedis;
  let browser: TestBrowser;
  const servers: RunningServer[] = [];
  const pages: Page[] = [];
  const node = async (topology: 'mesh' | 'sfu') => {
    const s = await startTestServer({ redis: redis.url, topology, rtcBind: '127.0.0.1' });
    servers.push(s);
    return s;
  };
  const join = async (server: RunningServer, room: string, name: string) => {
    const p = await joinCall(browser, server.url, room, name, { query: { raw: '1' } });
    pages.push(p);
    return p;
  };

  beforeAll(async () => {
    redis = await startRedis();
    browser = await launchBrowser({ fakeAudioFile: toneWavFile(TONE_HZ) });
  });

  afterAll(async () => {
    for (const p of pages) await p.close().catch(() => undefined);
    await browser?.close();
    for (const s of servers) await s.close();
    await redis?.close();
    cleanupRtc();
  });

  it('mesh: a page on each node, each sees the other\'s video and hears its tone', async () => {
    const [a, b] = [await node('mesh'), await node('mesh')];
    const ada = await join(a, 'span-mesh', 'Ada');
    const ben = await join(b, 'span-mesh', 'Ben');
    await Promise.all([waitForPeersPlaying(ada, 1), waitForPeersPlaying(ben, 1)]);
    expect([a, b].filter((s) => s.rooms.get('span-mesh'))).toHaveLength(1);
    expect(await heardHz(ada, (await state(ben)).id)).toBeCloseTo(TONE_HZ, -1);
    expect(await heardHz(ben, (await state(ada)).id)).toBeCloseTo(TONE_HZ, -1);
    await ada.close();
    await ben.close();
  });

  it('SFU: the room lives on one node, the page on the other gets its media from there; a recorder on a third node records both', async () => {
    const [c, d, e] = [await node('sfu'), await node('sfu'), await node('sfu')];
    const ada = await join(c, 'span-sfu', 'Ada');
    const ben = await join(d, 'span-sfu', 'Ben');
    await Promise.all([waitForPeersPlaying(ada, 1), waitForPeersPlaying(ben, 1)]);
    const home = [c, d, e].filter((s) => s.rooms.get('span-sfu'));
    expect(home).toHaveLength(1);
    expect(await heardHz(ben, (await state(ada)).id)).toBeCloseTo(TONE_HZ, -1);
    expect(await heardHz(ada, (await state(ben)).id)).toBeCloseTo(TONE_HZ, -1);

    const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-cluster-rec-'));
    const rec = new Recorder({ wsUrl: e.wsUrl, room: 'span-sfu', outDir: dir, peer: { bindAddress: '127.0.0.1' } });
    await rec.start();
    const writing = () => rec.manifest.files.filter((f) => f.kind === 'audio' && f.packets.received > 0).length;
    for (const end = Date.now() + 15_000; writing() < 2 && Date.now() < end;) await sleep(100);
    await sleep(2000);
    // The recorder's connection is with the room's node, its signaling through its own.
    expect(home[0]!.rooms.get('span-sfu')!.size).toBe(3);
    const manifest = await rec.stop();
    expect(manifest.status).toBe('complete');
    const audio = manifest.files.filter((f) => f.kind === 'audio');
    expect(audio.map((f) => f.name).sort()).toEqual(['Ada', 'Ben']);
    for (const f of audio) {
      const info = spawnSync('opusinfo', [path.join(dir, f.file)], { encoding: 'utf8' });
      expect(info.status, info.stderr).toBe(0);
      expect(f.packets.received).toBeGreaterThan(50);
    }
    await ada.close();
    await ben.close();
  });

  it('kill -9 of the room\'s node: the pages on the other nodes re-join through them within 10 s and meet again', async () => {
    const doomed = await startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--redis', redis.url, '--rtc-bind', '127.0.0.1'], /callpeer listening/);
    try {
      const port = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(doomed.output())![1];
      // The room is made on the CLI node (its first member joins there), then the pages join from the others.
      const first = await joinCall(browser, `http://127.0.0.1:${port}`, 'survive', 'First', { query: { raw: '1' } });
      const [f, g] = [await node('mesh'), await node('mesh')];
      const ada = await join(f, 'survive', 'Ada');
      const ben = await join(g, 'survive', 'Ben');
      await Promise.all([waitForPeersPlaying(ada, 2), waitForPeersPlaying(ben, 2)]);
      await first.close();
      await Promise.all([waitForPeersPlaying(ada, 1), waitForPeersPlaying(ben, 1)]);
      const before = await Promise.all([ada, ben].map(async (p) => (await state(p)).id));
      const t0 = Date.now();
      doomed.child.kill('SIGKILL');
      // Each page sees its socket drop, reconnects to its own node and joins again (a new
      // participant id): the room is made anew on one of them, and they meet there.
      await Promise.all([ada, ben].map((p, i) => waitForPage(p, (old) => {
        const st = window.callpeer!.state();
        return st.phase === 'joined' && st.id !== old && st.peers.length === 1 && st.peers[0]!.connection === 'connected' && (st.peers[0]!.tile?.frames ?? 0) > 10;
      }, before[i]!, { what: 'back in the room with the other page', timeoutMs: 20_000, debug: DEBUG_STATE })));
      const backMs = Date.now() - t0;
      console.log(`room's node killed: both pages together again after ${backMs} ms`);
      expect(backMs).toBeLessThan(10_000);
      expect([f, g].filter((s) => s.rooms.get('survive')?.size === 2)).toHaveLength(1);
    } finally {
      doomed.child.kill('SIGKILL');
    }
  });
});
