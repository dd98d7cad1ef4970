/**
 * A server process killed outright (SIGKILL: no close frames, sockets just drop): the call page
 * says it lost the server, keeps retrying, and re-joins a new process on the same port within
 * 5 s of it listening.
 * Uses the built CLI (`npm run build`), like the other CLI tests.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchBrowser, skipNote, waitForPage, type TestBrowser } from '../helpers/browser.js';
import { startCli } from '../helpers/cli.js';
import { DEBUG_STATE, joinCall, state, waitForPeersPlaying } from './call-page.js';

const LISTENING = /callpeer listening/;
const urlOf = (out: string) => /"url":"([^"]+)"/.exec(out)?.[1] ?? '';

describe.skipIf(!hasChromium())(`call page when the server process dies${skipNote()}`, { timeout: 40_000 }, () => {
  let browser: TestBrowser;
  let server: Awaited<ReturnType<typeof startCli>> | undefined;
  // An empty working folder: no certs/ there, so the server speaks plain HTTP.
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'callpeer-kill-'));

  beforeAll(async () => {
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    server?.child.kill('SIGTERM');
    await server?.exited;
  });

  it.each(['mesh', 'sfu'])('%s: shows the lost server, then re-joins a new server process on the same port', async (topology) => {
    const flags = ['--topology', topology, '--rtc-bind', '127.0.0.1'];
    server?.child.kill('SIGTERM');
    await server?.exited;
    server = await startCli(['serve', '--host', '127.0.0.1', '--port', '0', ...flags], LISTENING, { cwd });
    const url = urlOf(server.output());
    const port = new URL(url).port;
    const a = await joinCall(browser, url, `killed-${topology}`, 'A');
    const b = await joinCall(browser, url, `killed-${topology}`, 'B');
    await Promise.all([waitForPeersPlaying(a, 1), waitForPeersPlaying(b, 1)]);
    const oldIds = [(await state(a)).id, (await state(b)).id];

    server.child.kill('SIGKILL');
    await server.exited;
    await waitForPage(a, () => window.callpeer!.state().phase === 'reconnecting', undefined, { what: 'the reconnecting state', debug: DEBUG_STATE });
    expect((await state(a)).banners.join(' ')).toMatch(/lost the connection to the server/i);
    // Only mesh media goes on without the server.
    expect((await state(a)).banners.join(' ')).toMatch(topology === 'sfu' ? /call resumes when it is back/ : /can still hear and see you/);

    await new Promise((r) => setTimeout(r, 3000)); // down long enough for the pages to back off
    server = await startCli(['serve', '--host', '127.0.0.1', '--port', port, ...flags], LISTENING, { cwd });
    const upAt = Date.now();
    for (const page of [a, b]) {
      await waitForPage(page, (old) => {
        const st = window.callpeer!.state();
        return st.phase === 'joined' && !old.includes(st.id) && st.banners.length === 0;
      }, oldIds, { what: 're-joined the new server', timeoutMs: 15_000, debug: DEBUG_STATE });
    }
    const rejoinedMs = Date.now() - upAt;
    console.log(`${topology}: both pages re-joined ${rejoinedMs} ms after the server listened again`);
    expect(rejoinedMs).toBeLessThanOrEqual(5000); // the pages retry every 2.5 s at most
    await Promise.all([waitForPeersPlaying(a, 1), waitForPeersPlaying(b, 1)]);
    expect((await state(b)).peers.map((p) => p.name)).toEqual(['A']);
    await Promise.all([a.close(), b.close()]);
  });
});
