/**
 * Quality on the call page in real Chromium: in a mesh room each page reports what it receives
 * (`stats`) and shows the server's readings made from them as signal bars with a card of
 * figures; a page whose own reading has warnings says so in a banner, gone when they clear.
 * In an SFU room pages send no stats and show the server's own measurements.
 * Server rounds shortened to 1 s (2 s in service); pages report every 2 s as in service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import type { QualityMessage } from '../../src/protocol/signaling.js';
import { hasChromium, launchBrowser, screenshot, skipNote, toneWavFile, waitForPage, type Page, type TestBrowser } from '../helpers/browser.js';
import { Probe, startTestServer } from '../helpers/server.js';
import { DEBUG_STATE, joinCall, state, waitForPeersPlaying } from './call-page.js';

interface RoomInfo { participants: { id: string; name: string; quality?: QualityMessage }[] }

describe.skipIf(!hasChromium())(`call page quality in Chromium${skipNote()}`, { timeout: 90_000 }, () => {
  let server: RunningServer;
  let browser: TestBrowser;
  const changes: { room: string; participant: string; quality: QualityMessage }[] = [];
  const RAW = { raw: '1' };

  beforeAll(async () => {
    server = await startTestServer({ maxMembers: 4, rtcBind: '127.0.0.1' }, { qualityIntervalMs: 1000, onQualityChange: (c) => changes.push(c) });
    browser = await launchBrowser({ fakeAudioFile: toneWavFile(440) });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const roomInfo = async (room: string) => (await fetch(`${server.url}/api/rooms/${room}`)).json() as Promise<RoomInfo>;

  describe('mesh room', () => {
    const room = 'quality-mesh';
    let ada: Page;
    let ben: Page;
    let adaId: string;
    let benId: string;

    afterAll(async () => {
      await ada?.close();
      await ben?.close();
    });

    it('both pages report stats, and each shows the other\'s bars from the server\'s reading; the card shows the figures', async () => {
      ada = await joinCall(browser, server.url, room, 'Ada', { query: RAW });
      ben = await joinCall(browser, server.url, room, 'Ben', { query: RAW });
      await Promise.all([waitForPeersPlaying(ada, 1), waitForPeersPlaying(ben, 1)]);
      adaId = (await state(ada)).id;
      benId = (await state(ben)).id;

      // Each page sent stats about the other: camera video with audio on loopback.
      for (const [page, other] of [[ada, benId], [ben, adaId]] as const) {
        const sent = await waitForPage(page, (id) => {
          const m = window.callpeer!.state().statsSent[id];
          return m && m.bitrateKbps > 100 && (m.framesPerSecond ?? 0) > 5 ? m : undefined;
        }, other, { timeoutMs: 15_000, what: 'a stats report with video', debug: DEBUG_STATE });
        expect(sent).toMatchObject({ peer: other, packetLoss: expect.any(Number), jitterMs: expect.any(Number), rttMs: expect.any(Number) });
        expect(sent.packetLoss).toBeLessThan(2);
        expect(sent.rttMs).toBeLessThan(100);
      }
      // The server made each one's reading from the other's reports: the room API and the hook have it.
      const deadline = Date.now() + 10_000;
      let info = await roomInfo(room);
      while (info.participants.some((p) => !p.quality) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        info = await roomInfo(room);
      }
      for (const p of info.participants) expect(p.quality, `${p.name}'s reading`).toMatchObject({ packetLoss: expect.any(Number), warnings: [] });
      for (const p of info.participants) expect(p.quality!.bitrateKbps).toBeGreaterThan(100);
      expect(new Set(changes.filter((c) => c.room === room).map((c) => c.participant))).toEqual(new Set([adaId, benId]));

      // Each page shows the other's bars (loopback: 4, green) from that reading, and its own.
      for (const [page, other] of [[ada, benId], [ben, adaId]] as const) {
        const signal = await waitForPage(page, (id) => {
          const st = window.callpeer!.state();
          const tile = st.peers.find((p) => p.id === id)?.tile;
          return tile?.signal && tile.signal.video && st.self?.signal ? tile.signal : undefined;
        }, other, { timeoutMs: 10_000, what: 'the other\'s signal bars with its video size', debug: DEBUG_STATE });
        expect(signal.bars).toBe(4);
        expect(signal.score).toBeGreaterThanOrEqual(80);
        expect(signal.video!.width).toBeGreaterThan(0);
        expect(await page.locator(`.tile[data-peer="${other}"] .badge.signal[data-bars="4"]`).count()).toBe(1);
      }

      // Hovering the bars opens the card with the figures.
      const bars = ada.locator(`.tile[data-peer="${benId}"] .badge.signal`);
      const card = ada.locator('.qcard');
      expect(await card.isVisible()).toBe(false);
      await bars.hover();
      await card.waitFor({ state: 'visible', timeout: 2000 });
      const text = await card.innerText();
      expect(text).toMatch(/^Ben\s+Good · \d+/);
      expect(text).toMatch(/Packet loss\s+[\d.]+ %/);
      expect(text).toMatch(/Jitter\s+[\d.]+ ms/);
      expect(text).toMatch(/Round trip\s+[\d.]+ ms/);
      expect(text).toMatch(/Bitrate\s+\d+ kbit\/s/);
      expect(text).toMatch(/Resolution\s+\d+×\d+/);
      await screenshot(ada, 'quality-card-mesh');
      // Moving away hides it; a tap (click) keeps it open without pinning the tile; a click elsewhere closes it.
      await ada.mouse.move(5, 300);
      expect(await card.isVisible()).toBe(false);
      await bars.click();
      await ada.mouse.move(5, 300);
      expect(await card.isVisible()).toBe(true);
      expect((await state(ada)).peers[0]!.tile!.signal!.card).toBe(true);
      expect((await state(ada)).spotlight).toBeNull();
      await ada.mouse.click(5, 300);
      expect(await card.isVisible()).toBe(false);
      expect(browser.pageErrors).toEqual([]);
    });

    it('a member reporting heavy loss from Ada makes her reading bad: her banner says so in plain words, and goes when good reports follow', async () => {
      // A raw member joins last (so no page offers to it) and reports on Ada as any member may:
      // her reading is the median of its report and Ben's.
      const meter = await Probe.open(server.wsUrl);
      try {
        await meter.join(room, { name: 'Meter', audio: false, video: false });
        const report = (packetLoss: number) => meter.send({ type: 'stats', peer: adaId, packetLoss, jitterMs: 8, rttMs: 20, bitrateKbps: 1500, framesPerSecond: 30 });
        report(40);
        const timer = setInterval(() => report(40), 1000);
        let banner: string;
        try {
          banner = await waitForPage(ada, () => window.callpeer!.state().banners.find((b) => b.includes('losing packets')), undefined, {
            timeoutMs: 15_000, what: 'the banner about Ada\'s own connection (after the first 15 s of her call)', debug: DEBUG_STATE,
          });
          // Ben sees Ada's bars drop with her reading.
          await waitForPage(ben, (id) => (window.callpeer!.state().peers.find((p) => p.id === id)?.tile?.signal?.bars ?? 4) <= 3, adaId, {
            timeoutMs: 5000, what: 'fewer bars for Ada on Ben\'s page', debug: DEBUG_STATE,
          });
          await ben.locator(`.tile[data-peer="${adaId}"] .badge.signal`).click();
          await screenshot(ben, 'quality-ben-sees-ada-lossy');
          await screenshot(ada, 'quality-ada-banner');
        } finally {
          clearInterval(timer);
        }
        // Median of ~0 % (Ben) and 40 %: about 20 %.
        const loss = Number(/losing packets \(([\d.]+) %\)/.exec(banner)?.[1]);
        expect(loss).toBeGreaterThanOrEqual(15);
        expect(loss).toBeLessThanOrEqual(25);
        expect(banner).toMatch(/^Your connection is losing packets \([\d.]+ %\): video may stutter and sound may break up\.$/);
        const own = (await state(ada)).self!.signal!;
        expect(own.warnings).toContain('high-loss');
        expect(own.bars).toBeLessThanOrEqual(3);
        const benSees = (await state(ben)).peers.find((p) => p.id === adaId)!.tile!.signal!;
        expect(benSees.warnings).toContain('high-loss');
        expect(await ben.locator('.qcard .warn').innerText()).toBe('Losing packets');

        // Good reports: the warning clears after two calm readings and the banner goes.
        report(0);
        const calm = setInterval(() => report(0), 1000);
        try {
          await waitForPage(ada, () => !window.callpeer!.state().banners.some((b) => b.includes('losing packets')), undefined, {
            timeoutMs: 10_000, what: 'the banner to go', debug: DEBUG_STATE,
          });
        } finally {
          clearInterval(calm);
        }
        const after = await state(ada);
        expect(after.self!.signal!.warnings).toEqual([]);
        expect(after.banners.filter((b) => b.startsWith('Your '))).toEqual([]);
        expect(browser.pageErrors).toEqual([]);
      } finally {
        meter.close();
      }
    });
  });

  describe('SFU room', () => {
    const room = 'quality-sfu';

    it('pages send no stats; each shows the server\'s own measurement of the other as bars', async () => {
      expect((await fetch(`${server.url}/api/rooms`, { method: 'POST', body: JSON.stringify({ id: room, topology: 'sfu' }) })).status).toBe(201);
      const t0 = Date.now();
      const cy = await joinCall(browser, server.url, room, 'Cy', { query: RAW });
      const di = await joinCall(browser, server.url, room, 'Di', { query: RAW });
      try {
        const diId = (await state(di)).id;
        const signal = await waitForPage(cy, (id) => {
          const st = window.callpeer!.state();
          const tile = st.peers.find((p) => p.id === id)?.tile;
          return tile?.signal?.video && st.self?.signal ? tile.signal : undefined;
        }, diId, { timeoutMs: 20_000, what: 'Di\'s bars on Cy\'s page, with her video size', debug: DEBUG_STATE });
        expect(signal.bars).toBe(4);
        expect(signal.bitrateKbps).toBeGreaterThan(0);
        expect(signal.video!.width).toBeGreaterThan(0);
        // A call ramping up: the SFU judges jitter from audio only (video's frame bursts once read
        // 31-68 ms here) and video bitrate only after 15 s of video (cameras start at 30-87 kbit/s),
        // so its first readings warn of nothing on loopback; the pages also keep quiet about their
        // own connection for their first 15 s.
        await new Promise((r) => setTimeout(r, 4000));
        const warned = changes.filter((c) => c.room === room && c.quality.warnings.length > 0);
        expect(warned.map((c) => `${c.participant}: ${c.quality.warnings.join(',')} (jitter ${c.quality.jitterMs} ms, ${c.quality.bitrateKbps} kbit/s)`)).toEqual([]);
        if (Date.now() - t0 < 14_000) {
          for (const page of [cy, di]) expect((await state(page)).banners.filter((b) => b.startsWith('Your '))).toEqual([]);
        }
        for (const page of [cy, di]) expect((await state(page)).statsSent).toEqual({});
        await screenshot(cy, 'quality-sfu');
        expect(browser.pageErrors).toEqual([]);
      } finally {
        await cy.close();
        await di.close();
      }
    });
  });
});
