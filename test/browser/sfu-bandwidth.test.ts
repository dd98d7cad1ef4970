/**
 * Adaptive layers for bandwidth (issue 15), with Chromium's own bandwidth estimator: a page in
 * an SFU room receives a simulcast camera (three VP8 layers from the fixtures, ~110/305/806
 * kbit/s, sent by a Node publisher) over a link the test slows to 500 kbit/s (a userspace
 * bottleneck queue between the server and the page). Chromium's REMB falls, and the server
 * moves the page to a layer that fits (`layer` with reason `bandwidth`) while a subscriber on a
 * clean link keeps `high`. When the link opens again, the server probes upward (a layer at a
 * time, each the probe for the next) and the page is back on `high`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { BottleneckRelay } from '../helpers/bottleneck-relay.js';
import { hasChromium, launchBrowser, screenshot, skipNote, waitForPage, type Page, type TestBrowser } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';
import { cameraMember, type VideoMember } from '../integration/sfu-helpers.js';
import { BLOCK_ALL, DEBUG_STATE, joinCall, state } from './call-page.js';

interface LayerSeen { quality: string; reason: string; at: number }

describe.skipIf(!hasChromium())(`SFU layers follow a Chromium subscriber's bandwidth${skipNote()}`, { timeout: 150_000 }, () => {
  let server: RunningServer;
  let browser: TestBrowser;
  let relay: BottleneckRelay;
  const members: VideoMember[] = [];
  let page: Page | undefined;

  beforeAll(async () => {
    server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
    browser = await launchBrowser();
    relay = await BottleneckRelay.start({ queueMs: 250 });
  });

  afterAll(async () => {
    await page?.close();
    await browser?.close();
    for (const m of members) await m.stop();
    await relay?.close();
    await server?.close();
    cleanupRtc();
  });

  it('a 500 kbit/s link: down for bandwidth within seconds, the clean subscriber keeps high; opened again: back to high by probing', async () => {
    const room = 'bandwidth';
    const publisher = await cameraMember(server.wsUrl, room, 'camera', 'vp8');
    members.push(publisher);
    const clean = await cameraMember(server.wsUrl, room, 'clean', undefined);
    members.push(clean);
    // The page receives only: its own camera would cost the machine an encoder for nothing.
    page = await joinCall(browser, server.url, room, 'Slow', { initScript: BLOCK_ALL, beforeNavigate: (p) => relay.route(p) });
    const camera = await waitForPage(page, () => window.callpeer!.state().sfu.tracks.find((t) => t.kind === 'video')?.id, undefined, { what: 'the camera listed', debug: DEBUG_STATE });
    const layerNow = async () => (await state(page!)).sfu.layers[camera];
    const seen: LayerSeen[] = [];
    let last: string | undefined;
    const watch = setInterval(() => {
      void state(page!).then((st) => {
        const q = st.sfu.layers[camera] ?? 'none';
        if (q !== last) seen.push({ quality: q, reason: st.sfu.reasons[camera] ?? '?', at: Date.now() });
        last = q;
      }).catch(() => undefined);
    }, 200);
    try {
      // The page asks by tile size; this one wants the top layer whatever its tile.
      await page.evaluate((t) => window.callpeer!.setLayer(t, 'high'), camera);
      await waitForPage(page, (t) => window.callpeer!.state().sfu.layers[t] === 'high', camera, { what: 'high forwarded', timeoutMs: 20_000, debug: DEBUG_STATE });
      // Chromium's first estimate comes ~5 s after media starts: let it settle on high.
      await new Promise((r) => setTimeout(r, 4000));
      expect(await layerNow()).toBe('high');

      const t0 = Date.now();
      relay.setRate(500_000);
      await waitForPage(page, (t) => window.callpeer!.state().sfu.layers[t] !== 'high', camera, { what: 'a lower layer on the slow link', timeoutMs: 15_000, debug: DEBUG_STATE });
      const downMs = Date.now() - t0;
      const down = await layerNow();
      expect(['medium', 'low']).toContain(down);
      expect((await state(page)).sfu.reasons[camera]).toBe('bandwidth');
      // The clean subscriber was never moved, and the publisher still sends high (someone wants it).
      expect(clean.layers.filter((l) => l.quality !== 'high')).toEqual([]);
      expect(publisher.publishLayers.at(-1)?.active).toContain('high');
      // The slow link holds what it gets now: the page stays below high while it lasts (probes come back down).
      await new Promise((r) => setTimeout(r, 9000));
      const whileSlow = seen.filter((s) => s.at > t0);
      expect(await layerNow()).not.toBe('high');
      await screenshot(page, 'sfu-bandwidth-slow-link');

      const t1 = Date.now();
      relay.setRate(undefined);
      await waitForPage(page, (t) => window.callpeer!.state().sfu.layers[t] === 'high', camera, { what: 'back to high after the link opened', timeoutMs: 60_000, debug: DEBUG_STATE });
      const upMs = Date.now() - t1;
      console.log(`500 kbit/s: ${down} after ${downMs} ms (queue up to ${Math.round(relay.stats.maxQueueMs)} ms, ${relay.stats.dropped} dropped); layers while slow: ${whileSlow.map((s) => `${s.quality}/${s.reason}@${s.at - t0}`).join(' ')}; back to high ${upMs} ms after the link opened`);
      expect(downMs).toBeLessThan(15_000);
    } finally {
      clearInterval(watch);
    }
  });
});
