/**
 * Chromium decodes an H264 camera through the SFU: a Node member publishes the x264 fixture
 * (320x240, 15 fps) offering H264 only; the call page in the same room gets it in H264 (the
 * server offers each subscriber the publisher's codec) and its tile shows the picture with
 * frames growing. Debian's Chromium lists H264 in RTCRtpReceiver.getCapabilities('video')
 * (packetization-mode 0 and 1; profiles 42001f, 42e01f, 4d001f, f4001f).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { hasChromium, launchBrowser, screenshot, skipNote, waitForPage, type TestBrowser } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';
import { cameraMember } from '../integration/sfu-helpers.js';
import { DEBUG_STATE, joinCall, state } from './call-page.js';

describe.skipIf(!hasChromium())(`call page with an H264 publisher in an SFU room${skipNote()}`, { timeout: 60_000 }, () => {
  let server: RunningServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1', videoCodecs: ['vp8', 'h264'] });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    cleanupRtc();
  });

  it('Chromium can receive H264, and the page renders the Node publisher\'s H264 camera at 320x240 with frames growing', async () => {
    const page = await joinCall(browser, server.url, 'h264-page', 'Viewer');
    const caps = await page.evaluate(() => RTCRtpReceiver.getCapabilities('video')!.codecs.map((c) => `${c.mimeType} ${c.sdpFmtpLine ?? ''}`));
    expect(caps.some((c) => /^video\/H264 .*packetization-mode=1.*profile-level-id=42e01f/.test(c))).toBe(true);
    const pub = await cameraMember(server.wsUrl, 'h264-page', 'node-h264', 'h264');
    try {
      const id = pub.agent.id!;
      await waitForPage(page, (peer) => {
        const t = window.callpeer!.state().peers.find((p) => p.id === peer)?.tile;
        return t != null && t.showsVideo && t.frames >= 15 && t.videoWidth > 0;
      }, id, { timeoutMs: 20_000, what: 'the H264 camera on the tile', debug: DEBUG_STATE });
      const st = await state(page);
      expect(st.sfu.tracks.find((t) => t.publisher === id && t.source === 'camera')?.codec).toBe('H264');
      const tile = () => page.evaluate((peer) => window.callpeer!.state().peers.find((p) => p.id === peer)!.tile!, id);
      const decoded = async () => (await page.evaluate(() => window.callpeer!.stats()))[id]?.inbound.video?.framesDecoded ?? 0;
      const before = { tile: await tile(), decoded: await decoded() };
      expect(before.tile).toMatchObject({ videoWidth: 320, videoHeight: 240 });
      await new Promise((r) => setTimeout(r, 2000));
      const after = { tile: await tile(), decoded: await decoded() };
      console.log(`Chromium decoding H264: framesDecoded ${before.decoded} -> ${after.decoded}, tile frames ${before.tile.frames} -> ${after.tile.frames} in 2 s`);
      // 15 fps sent: 30 in 2 s; a loaded 2-core machine may present fewer.
      expect(after.decoded - before.decoded).toBeGreaterThanOrEqual(20);
      expect(after.tile.frames - before.tile.frames).toBeGreaterThanOrEqual(10);
      await screenshot(page, 'sfu-h264-page');
    } finally {
      await pub.stop();
      await page.close();
    }
    expect(browser.pageErrors).toEqual([]);
  });

  it('in an H264-only room (--video-codecs h264) a page publishes its camera in H264 as simulcast layers, and another page decodes it', async () => {
    const h264 = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1', videoCodecs: ['h264'] });
    try {
      const pub = await joinCall(browser, h264.url, 'h264-only', 'Pub');
      const sub = await joinCall(browser, h264.url, 'h264-only', 'Sub');
      const pubId = (await state(pub)).id;
      const camera = await waitForPage(sub, (id) => window.callpeer!.state().sfu.tracks.find((t) => t.publisher === id && t.source === 'camera'), pubId, { what: 'the camera listed', timeoutMs: 20_000, debug: DEBUG_STATE });
      expect(camera.codec).toBe('H264');
      await waitForPage(sub, (peer) => {
        const t = window.callpeer!.state().peers.find((p) => p.id === peer)?.tile;
        return t != null && t.showsVideo && t.frames >= 15 && t.videoWidth > 0;
      }, pubId, { timeoutMs: 20_000, what: 'the H264 camera decoded on the other page', debug: DEBUG_STATE });
      const layers = (await state(sub)).sfu.tracks.find((t) => t.id === camera.id)!.layers;
      const width = (await state(sub)).peers.find((p) => p.id === pubId)!.tile!.videoWidth;
      console.log(`H264-only room: the page's camera in ${camera.codec}, layers ${JSON.stringify(layers)}, decoded at width ${width}`);
      expect(layers.length).toBeGreaterThanOrEqual(2); // simulcast in H264
      await pub.close();
      await sub.close();
    } finally {
      await h264.close();
    }
  });
});
