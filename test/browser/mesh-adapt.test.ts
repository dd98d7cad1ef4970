/**
 * A mesh call page adapts its video sender to a lossy link, in real Chromium: Ada's media to Ben
 * crosses a userspace UDP relay (test/helpers/lossy-relay.ts, her signaling routed through it
 * with Playwright) that drops a fifth of her RTP. Ben's receiver reports tell her Chromium
 * (`remote-inbound-rtp`); her page steps its maxBitrate down, sends less (`outbound-rtp`), and
 * says so in her banner. With the loss gone it steps back up and the banner goes. The wait
 * before each step up is shortened from 10 s to 4 s (`CALLPEER_ADAPT_UP_MS`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { hasChromium, launchBrowser, screenshot, skipNote, toneWavFile, waitForPage, type Page, type TestBrowser } from '../helpers/browser.js';
import { LossyRelay } from '../helpers/lossy-relay.js';
import { startTestServer } from '../helpers/server.js';
import { DEBUG_STATE, joinCall, KEEP_PEER_CONNECTIONS, state, waitForPeersPlaying } from './call-page.js';

const LOWERED = 'Your connection is losing packets: video lowered.';

/** Ada's video bitrate to Ben over `ms`, kbit/s (bytes sent, retransmissions apart). */
async function sentKbps(page: Page, ms: number): Promise<number> {
  return page.evaluate(async (wait) => {
    const bytes = async () => {
      let n = 0;
      for (const pc of (window as unknown as { peerConnections: RTCPeerConnection[] }).peerConnections) {
        (await pc.getStats()).forEach((s: { type: string; kind?: string; bytesSent?: number; retransmittedBytesSent?: number }) => {
          if (s.type === 'outbound-rtp' && s.kind === 'video') n += (s.bytesSent ?? 0) - (s.retransmittedBytesSent ?? 0);
        });
      }
      return n;
    };
    const t0 = performance.now();
    const b0 = await bytes();
    await new Promise((r) => setTimeout(r, wait));
    return ((await bytes()) - b0) * 8 / (performance.now() - t0);
  }, ms);
}

/** Ada's video sender as Chromium has it: the encoder's target and its encoding's maxBitrate (kbit/s, null: none). */
function sender(page: Page): Promise<{ targetKbps: number; maxBitrateKbps: number | null; width: number }> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { peerConnections: RTCPeerConnection[] }).peerConnections[0]!;
    const out = { targetKbps: 0, maxBitrateKbps: null as number | null, width: 0 };
    (await pc.getStats()).forEach((s: { type: string; kind?: string; targetBitrate?: number; frameWidth?: number }) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') Object.assign(out, { targetKbps: (s.targetBitrate ?? 0) / 1000, width: s.frameWidth ?? 0 });
    });
    const e = pc.getSenders().find((x) => x.track?.kind === 'video')!.getParameters().encodings[0]!;
    out.maxBitrateKbps = e.maxBitrate === undefined ? null : e.maxBitrate / 1000;
    return out;
  });
}

describe.skipIf(!hasChromium())(`mesh page adapts its video to a lossy link${skipNote()}`, { timeout: 90_000 }, () => {
  let server: RunningServer;
  let browser: TestBrowser;
  let relay: LossyRelay;

  beforeAll(async () => {
    server = await startTestServer({ maxMembers: 4, rtcBind: '127.0.0.1' });
    browser = await launchBrowser({ fakeAudioFile: toneWavFile(440) });
    relay = await LossyRelay.start(server.wsUrl, { loss: 0, delay: 0, seed: 7 });
  });

  afterAll(async () => {
    await browser?.close();
    await relay?.close();
    await server?.close();
  });

  it('on 20 % loss Ada\'s page lowers its maxBitrate, sends less and says so; with the loss gone it steps back up and the banner goes', async () => {
    const room = 'adapt-mesh';
    const ada = await joinCall(browser, server.url, room, 'Ada', {
      query: { raw: '1' },
      initScript: `window.CALLPEER_ADAPT_UP_MS = 4000; ${KEEP_PEER_CONNECTIONS}`,
      beforeNavigate: (p) => relay.route(p),
    });
    const ben = await joinCall(browser, server.url, room, 'Ben', { query: { raw: '1' } });
    await Promise.all([waitForPeersPlaying(ada, 1), waitForPeersPlaying(ben, 1)]);
    const benId = (await state(ben)).id;
    const adaptOf = async () => (await state(ada)).adapt[benId];

    // A clean link: nothing lowered, no banner.
    const before = await sentKbps(ada, 3000);
    expect(await adaptOf()).toMatchObject({ level: 0, reason: '', scale: 1 });
    expect((await state(ada)).banners).not.toContain(LOWERED);

    relay.setLoss(0.2, 0);
    const t0 = Date.now();
    const lowered = await waitForPage(ada, (id) => {
      const st = window.callpeer!.state();
      const a = st.adapt[id];
      return a && a.level >= 1 && st.banners.includes('Your connection is losing packets: video lowered.') ? a : undefined;
    }, benId, { timeoutMs: 15_000, what: 'Ada\'s video to Ben lowered, with her banner', debug: DEBUG_STATE });
    const downMs = Date.now() - t0;
    expect(lowered.reason).toBe('loss');
    expect(lowered.maxBitrateKbps).toBeGreaterThan(0);
    expect(lowered.maxBitrateKbps!).toBeLessThan(before);
    await screenshot(ada, 'mesh-adapt-banner');
    // What she sends while the loss goes on (retransmissions apart: they are the loss's, not the encoder's).
    const during = await sentKbps(ada, 3000);
    const stillLowered = (await adaptOf())!;
    const lowSender = await sender(ada);
    // Healed: readings turn clean (a step up waits 4 s of them here, 10 s in service).
    relay.setLoss(0, 0);
    const t1 = Date.now();
    await waitForPage(ada, (id) => {
      const st = window.callpeer!.state();
      return st.adapt[id]?.level === 0 && !st.banners.includes('Your connection is losing packets: video lowered.');
    }, benId, { timeoutMs: 30_000, what: 'Ada\'s video back to full, banner gone', debug: DEBUG_STATE });
    const upMs = Date.now() - t1;
    const restored = (await adaptOf())!;
    // The encoder's target is free again at once. What it sends follows Chromium's own pace:
    // its estimator grows with what it sees acknowledged and the picture regains its size
    // after that (10-15 s here, for a fake camera that never fills its target).
    const freed = await waitForPage(ada, async (low) => {
      const pc = (window as unknown as { peerConnections: RTCPeerConnection[] }).peerConnections[0]!;
      let target = 0;
      (await pc.getStats()).forEach((s: { type: string; kind?: string; targetBitrate?: number }) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video') target = (s.targetBitrate ?? 0) / 1000;
      });
      return target > 2 * low ? target : undefined;
    }, lowSender.targetKbps, { timeoutMs: 10_000, what: 'the encoder\'s target to rise again' });
    const afterSender = await sender(ada);
    const after = await sentKbps(ada, 3000);
    console.log(`mesh-adapt: sent ${before.toFixed(0)} kbit/s before, ${during.toFixed(0)} lowered (level ${stillLowered.level}, maxBitrate ${lowSender.maxBitrateKbps} kbit/s, target ${lowSender.targetKbps} kbit/s, ${lowSender.width} px wide), ${after.toFixed(0)} just after (target ${freed} kbit/s, ${afterSender.width} px); lowered ${downMs} ms after the loss began, restored ${upMs} ms after it ended; relay ${JSON.stringify(relay.stats)}`);

    expect(stillLowered.level).toBeGreaterThanOrEqual(1);
    // Steps only go down while the loss lasts (one may have come between the reads).
    expect(lowSender.maxBitrateKbps).toBeLessThanOrEqual(lowered.maxBitrateKbps!);
    expect(lowSender.targetKbps).toBeLessThanOrEqual(lowered.maxBitrateKbps!);
    expect(during).toBeLessThan(before * 0.75);
    expect(restored).toMatchObject({ level: 0, reason: '', scale: 1, maxBitrateKbps: null });
    expect(afterSender.maxBitrateKbps).toBeNull();
    expect(relay.stats.dropped).toBeGreaterThan(0);
    expect(browser.pageErrors).toEqual([]);
  });
});
