/**
 * A third-party WHIP encoder into a callpeer SFU room: Meetecho's simple-whip-client
 * (GStreamer webrtcbin; Debian `simple-whip-client`) publishes a 440 Hz tone and a 320x240 VP8
 * test pattern through `/whip/<room>`; a Chromium call page in the room hears the tone and
 * plays the video on the encoder's tile. Stopping the client (SIGINT: it sends DELETE) takes
 * the participant out. GStreamer offers its second section bundle-only (port 0, RFC 8843):
 * before this test the server answered that section inactive and the audio never came.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { hasChromium, launchBrowser, screenshot, skipNote, waitForPage, type TestBrowser } from '../helpers/browser.js';
import { gstWhipClientMissing, startGstWhipClient } from '../helpers/gst-whip-client.js';
import { startTestServer } from '../helpers/server.js';
import { BLOCK_ALL, DEBUG_STATE, heardHz, joinCall, state } from './call-page.js';

const missing = gstWhipClientMissing();

describe.skipIf(!hasChromium() || missing !== undefined)(`simple-whip-client (GStreamer) publishing into an SFU room${skipNote()}${missing ? ` (skipped: ${missing})` : ''}`, { timeout: 60_000 }, () => {
  let server: RunningServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    cleanupRtc();
  });

  it('a call page hears its tone and plays its video; stopping it (DELETE) takes it out of the room', async () => {
    const page = await joinCall(browser, server.url, 'gst', 'Viewer', { initScript: BLOCK_ALL });
    const client = startGstWhipClient(`${server.url}/whip/gst?name=GStreamer`, { toneHz: 440 });
    try {
      await client.waitFor(/PeerConnection connected/);
      const id = await waitForPage(page, () => {
        const p = window.callpeer!.state().peers.find((x) => x.name === 'GStreamer');
        return p?.tile && p.tile.frames > 15 && p.tile.videoWidth > 0 ? p.id : undefined;
      }, undefined, { what: 'the GStreamer tile playing video', timeoutMs: 20_000, debug: DEBUG_STATE });
      const tile = (await state(page)).peers.find((p) => p.id === id)!.tile!;
      expect([tile.videoWidth, tile.videoHeight]).toEqual([320, 240]);
      expect(Math.abs((await heardHz(page, id)) - 440)).toBeLessThanOrEqual(2);
      await screenshot(page, 'gst-whip-client-in-sfu-room');
      await client.stop();
      expect(client.output()).toMatch(/Disconnecting from server \(Shutting down\)/);
      await waitForPage(page, (peer) => !window.callpeer!.state().peers.some((p) => p.id === peer), id, { what: 'the GStreamer participant to leave', timeoutMs: 5000 });
      expect(server.rooms.get('gst')?.participants().map((p) => p.name)).toEqual(['Viewer']);
    } finally {
      await client.stop();
      await page.close();
    }
  });
});
