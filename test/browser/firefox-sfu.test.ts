/**
 * Firefox in an SFU room with video (PROTOCOL.md, SFU rooms v2): a Firefox page and two
 * Chromium pages each publish a simulcast camera through the server and render the other two,
 * frames growing; the server lists every camera with its layers.
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

  it('a Firefox page and two Chromium pages each render the other two cameras through the server, frames growing', async () => {
    const ada = await joinCall(chromium, server.url, 'fox-sfu', 'Ada');
    const ben = await joinCall(chromium, server.url, 'fox-sfu', 'Ben');
    const fox = await firefox.newPage(`${server.url}/r/fox-sfu?name=Fox`);
    await waitForFirefox(fox, () => window.callpeer?.state().phase === 'joined', undefined, { what: 'Fox to join', debug: DEBUG_STATE });
    const foxState = (): Promise<CallState> => fox.evaluate(() => window.callpeer!.state());
    const [adaId, benId, foxId] = [(await state(ada)).id, (await state(ben)).id, (await foxState()).id];
    const shows = (ids: readonly string[]) => ids.every((id) => {
      const t = window.callpeer!.state().peers.find((p) => p.id === id)?.tile;
      return Boolean(t && t.frames > 20 && t.videoWidth > 0);
    });
    await waitForFirefox(fox, shows, [adaId, benId], { timeoutMs: 40_000, what: 'Ada\'s and Ben\'s cameras on Fox\'s page', debug: DEBUG_STATE });
    await waitForPage(ada, shows, [benId, foxId], { timeoutMs: 40_000, what: 'Ben\'s and Fox\'s cameras on Ada\'s page', debug: DEBUG_STATE });
    await waitForPage(ben, shows, [adaId, foxId], { timeoutMs: 40_000, what: 'Ada\'s and Fox\'s cameras on Ben\'s page', debug: DEBUG_STATE });
    // Frames keep coming on every tile. Three pages encoding three layers each on a busy
    // 2-core machine run slow: 5 frames in 2 s is alive.
    const frames = async () => {
      const all = [await foxState(), await state(ada), await state(ben)];
      return all.flatMap((st) => st.peers.map((p) => [`${st.name}<-${p.name}`, p.tile!.frames] as const));
    };
    const before = new Map(await frames());
    expect(before.size).toBe(6);
    await new Promise((r) => setTimeout(r, 2000));
    for (const [tile, n] of await frames()) expect(n - before.get(tile)!, tile).toBeGreaterThanOrEqual(5);
    // Every camera is listed; Firefox's as simulcast too.
    const cameras = (await state(ada)).sfu.tracks.filter((t) => t.source === 'camera');
    expect(cameras.map((t) => t.publisher).sort()).toEqual([adaId, benId, foxId].sort());
    for (const t of cameras) expect(t.layers.length).toBeGreaterThanOrEqual(2);
    await screenshotFirefox(fox, 'firefox-sfu');
    await fox.close();
    await ada.close();
    await ben.close();
    expect(chromium.pageErrors).toEqual([]);
  });
});
