/**
 * Firefox in an SFU room with video (PROTOCOL.md, SFU rooms v2): a Firefox page and a Chromium
 * page each publish a simulcast camera through the server and render the other's, frames
 * growing; the server lists both cameras with their layers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { hasChromium, launchBrowser, skipNote, waitForPage, type TestBrowser } from '../helpers/browser.js';
import { firefoxSkipNote, hasFirefox, launchFirefox, screenshotFirefox, waitForFirefox, type TestFirefox } from '../helpers/firefox.js';
import { startTestServer } from '../helpers/server.js';
import { DEBUG_STATE, joinCall, state, type CallState } from './call-page.js';

describe.skipIf(!hasFirefox() || !hasChromium())(`Firefox in an SFU room with video${firefoxSkipNote()}${skipNote()}`, { timeout: 90_000 }, () => {
  let server: RunningServer;
  let firefox: TestFirefox;
  let chromium: TestBrowser;

  beforeAll(async () => {
    server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
    [firefox, chromium] = await Promise.all([launchFirefox(), launchBrowser()]);
  });

  afterAll(async () => {
    await firefox?.close();
    await chromium?.close();
    await server?.close();
    cleanupRtc();
  });

  it('a Firefox page and a Chromium page see each other\'s camera through the server', async () => {
    const ada = await joinCall(chromium, server.url, 'fox-sfu', 'Ada');
    const fox = await firefox.newPage(`${server.url}/r/fox-sfu?name=Fox`);
    await waitForFirefox(fox, () => window.callpeer?.state().phase === 'joined', undefined, { what: 'Fox to join', debug: DEBUG_STATE });
    const foxState = (): Promise<CallState> => fox.evaluate(() => window.callpeer!.state());
    const [adaId, foxId] = [(await state(ada)).id, (await foxState()).id];
    await waitForFirefox(fox, (id) => {
      const t = window.callpeer!.state().peers.find((p) => p.id === id)?.tile;
      return Boolean(t && t.frames > 20 && t.videoWidth > 0);
    }, adaId, { timeoutMs: 30_000, what: 'Ada\'s camera on Fox\'s page', debug: DEBUG_STATE });
    await waitForPage(ada, (id) => {
      const t = window.callpeer!.state().peers.find((p) => p.id === id)?.tile;
      return Boolean(t && t.frames > 20 && t.videoWidth > 0);
    }, foxId, { timeoutMs: 30_000, what: 'Fox\'s camera on Ada\'s page', debug: DEBUG_STATE });
    // Frames keep coming both ways.
    const before = [(await foxState()).peers[0]!.tile!.frames, (await state(ada)).peers[0]!.tile!.frames];
    await new Promise((r) => setTimeout(r, 2000));
    expect((await foxState()).peers[0]!.tile!.frames - before[0]!).toBeGreaterThan(10);
    expect((await state(ada)).peers[0]!.tile!.frames - before[1]!).toBeGreaterThan(10);
    // Both cameras are listed; Firefox's as simulcast too.
    const cameras = (await state(ada)).sfu.tracks.filter((t) => t.source === 'camera');
    expect(cameras.map((t) => t.publisher).sort()).toEqual([adaId, foxId].sort());
    for (const t of cameras) expect(t.layers.length).toBeGreaterThanOrEqual(2);
    await screenshotFirefox(fox, 'firefox-sfu');
    await fox.close();
    await ada.close();
    expect(chromium.pageErrors).toEqual([]);
  });
});
