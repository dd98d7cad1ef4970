/**
 * The call page in real Firefox (Debian's ESR over WebDriver BiDi, see ../helpers/firefox.ts):
 * it joins a call with a Chromium page and both see and hear each other, mute and chat cross
 * between the two browsers, and a Firefox page hears a tone bot at its exact frequency.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { Bot } from '../../src/bots/bot.js';
import { dominantFrequency, rms } from '../../src/media/analysis.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { floatToInt16, hasChromium, launchBrowser, skipNote, toneWavFile, waitForPage, type Page, type TestBrowser } from '../helpers/browser.js';
import {
  firefoxSkipNote, hasFirefox, launchFirefox, screenshotFirefox, waitForFirefox, type FirefoxPage, type TestFirefox,
} from '../helpers/firefox.js';
import { DEBUG_STATE, joinCall, state, stats, waitForPeersPlaying, type CallState, type RtpStats } from './call-page.js';
import { startTestServer } from '../helpers/server.js';

/** Firefox's fake microphone (media.navigator.streams.fake): a steady 1 kHz sine at 0.1 of full scale (measured). */
const FIREFOX_FAKE_TONE_HZ = 1000;
/** Chromium's fake microphone plays this tone (a WAV file). */
const CHROMIUM_TONE_HZ = 440;

/** Four 250 ms windows of `samples`: a steady tone has the same frequency and level in each. */
function windows(samples: readonly number[], sampleRate: number): { hz: number; rms: number }[] {
  const pcm = floatToInt16(samples);
  const size = Math.round(sampleRate / 4);
  const out = [];
  for (let i = 0; i + size <= pcm.length; i += size) {
    const w = pcm.subarray(i, i + size);
    out.push({ hz: dominantFrequency(w, sampleRate), rms: rms(w) });
  }
  return out;
}

describe.skipIf(!hasFirefox() || !hasChromium())(`call page in Firefox${firefoxSkipNote()}${skipNote()}`, { timeout: 40_000 }, () => {
  let server: RunningServer;
  let firefox: TestFirefox;
  let chromium: TestBrowser;
  let fox: FirefoxPage;
  let ada: Page;
  let bot: Bot | undefined;
  const room = 'firefox-call';

  const foxState = (): Promise<CallState> => fox.evaluate(() => window.callpeer!.state());
  const foxStats = (): Promise<RtpStats> => fox.evaluate(() => window.callpeer!.stats()).then((s) => Object.values(s)[0]!);

  beforeAll(async () => {
    server = await startTestServer();
    [firefox, chromium] = await Promise.all([launchFirefox(), launchBrowser({ fakeAudioFile: toneWavFile(CHROMIUM_TONE_HZ) })]);
  });

  afterAll(async () => {
    await bot?.close();
    await firefox?.close();
    await chromium?.close();
    await server?.close();
    cleanupRtc();
  });

  it('a Firefox page and a Chromium page see each other\'s video and hear each other\'s microphone', async () => {
    // raw=1: no echo cancellation or gain control, so both test tones keep their level.
    ada = await joinCall(chromium, server.url, room, 'Ada', { query: { raw: '1' } });
    fox = await firefox.newPage(`${server.url}/r/${room}?name=Fox&raw=1`);
    await waitForFirefox(fox, () => window.callpeer?.state().phase === 'joined', undefined, { what: 'Fox to join', debug: DEBUG_STATE });
    await Promise.all([
      waitForPeersPlaying(ada, 1),
      waitForFirefox(fox, () => {
        const p = window.callpeer!.state().peers[0];
        return p?.connection === 'connected' && p.tile !== null && p.tile.frames > 10 && p.tile.videoWidth > 0;
      }, undefined, { timeoutMs: 15_000, what: 'Ada\'s video playing on Fox\'s page', debug: DEBUG_STATE }),
    ]);
    const seenByAda = (await state(ada)).peers[0]!;
    const seenByFox = (await foxState()).peers[0]!;
    expect(seenByAda.name).toBe('Fox');
    expect(seenByFox.name).toBe('Ada');

    // Video keeps advancing and audio packets keep arriving, in both browsers.
    const [foxBefore, adaBefore] = [await foxStats(), Object.values(await stats(ada))[0]!];
    await waitForFirefox(fox, ([t, n]) => {
      const tile = window.callpeer!.state().peers[0]!.tile!;
      return tile.currentTime > t + 0.5 && tile.frames > n + 10;
    }, [seenByFox.tile!.currentTime, seenByFox.tile!.frames] as const, { what: 'Ada\'s video to keep advancing on Fox\'s page' });
    const [foxAfter, adaAfter] = [await foxStats(), Object.values(await stats(ada))[0]!];
    expect(foxAfter.inbound.audio!.packetsReceived).toBeGreaterThan(foxBefore.inbound.audio!.packetsReceived);
    expect(foxAfter.inbound.video!.framesDecoded).toBeGreaterThan(foxBefore.inbound.video!.framesDecoded ?? 0);
    expect(adaAfter.inbound.audio!.packetsReceived).toBeGreaterThan(adaBefore.inbound.audio!.packetsReceived);
    expect(adaAfter.inbound.video!.framesDecoded).toBeGreaterThan(adaBefore.inbound.video!.framesDecoded ?? 0);

    // Chromium hears Firefox's fake microphone as a steady tone, 1 s in four windows.
    const adaHears = await ada.evaluate((id) => window.callpeer!.audio(id, 1000), seenByAda.id);
    const fromFox = windows(adaHears.samples, adaHears.sampleRate);
    expect(fromFox).toHaveLength(4);
    for (const w of fromFox) {
      expect(Math.abs(w.hz - FIREFOX_FAKE_TONE_HZ)).toBeLessThanOrEqual(5);
      expect(w.rms).toBeGreaterThan(0.05); // a 0.1 sine: RMS 0.07
      expect(w.rms).toBeLessThan(0.1);
    }
    // Firefox hears Chromium's 440 Hz file (0.5 of full scale: RMS 0.35).
    const foxHears = await fox.evaluate((id) => window.callpeer!.audio(id, 1000), seenByFox.id);
    for (const w of windows(foxHears.samples, foxHears.sampleRate)) {
      expect(Math.abs(w.hz - CHROMIUM_TONE_HZ)).toBeLessThanOrEqual(5);
      expect(w.rms).toBeGreaterThan(0.2);
    }
    await waitForFirefox(fox, () => window.callpeer!.state().peers[0]!.tile!.speaking, undefined, { what: 'Ada shown speaking on Fox\'s page', debug: DEBUG_STATE });
    await screenshotFirefox(fox, 'firefox-call');
    expect(firefox.pageErrors).toEqual([]);
  });

  it('muting the microphone and turning the camera off in Firefox show on the Chromium page', async () => {
    await fox.click('#btn-mic');
    await waitForPage(ada, () => !window.callpeer!.state().peers[0]!.audio, undefined, { what: 'Fox shown muted on Ada\'s page', debug: DEBUG_STATE });
    expect(await ada.locator('.tile:not(.local) .badge.mic-off').count()).toBe(1);
    await fox.click('#btn-cam');
    await waitForPage(ada, () => {
      const p = window.callpeer!.state().peers[0]!;
      return !p.video && p.tile!.showsVideo === false;
    }, undefined, { what: 'Fox\'s camera shown off on Ada\'s page', debug: DEBUG_STATE });
    // Camera off releases Firefox's camera too.
    expect((await foxState()).tracks.filter((t) => t.kind === 'video')).toEqual([]);

    await fox.click('#btn-mic');
    await fox.click('#btn-cam');
    await waitForPage(ada, () => {
      const p = window.callpeer!.state().peers[0]!;
      return p.audio && p.video && p.tile!.showsVideo && p.tile!.frames > 0;
    }, undefined, { what: 'Fox back on', timeoutMs: 15_000, debug: DEBUG_STATE });
  });

  it('chat lines cross both ways between Firefox and Chromium', async () => {
    await fox.click('#btn-chat');
    await fox.type('#chat-input', 'hello from Firefox');
    await fox.keyboard.press('Enter');
    const line = await waitForPage(ada, () => window.callpeer!.state().chat.find((l) => l.text === 'hello from Firefox'),
      undefined, { what: 'Fox\'s line on Ada\'s page' });
    expect(line.name).toBe('Fox');

    await ada.click('#btn-chat');
    await ada.fill('#chat-input', 'hello from Chromium');
    await ada.press('#chat-input', 'Enter');
    const back = await waitForFirefox(fox, () => window.callpeer!.state().chat.find((l) => l.text === 'hello from Chromium'),
      undefined, { what: 'Ada\'s line on Fox\'s page' });
    expect(back.name).toBe('Ada');
    expect((await foxState()).chat.map((l) => l.text)).toEqual(['hello from Firefox', 'hello from Chromium']);
    await screenshotFirefox(fox, 'firefox-call-chat');
    expect(firefox.pageErrors).toEqual([]);
  });

  it('a Firefox page hears a --tone 440 bot at 440 Hz (±1 Hz)', async () => {
    bot = new Bot({ wsUrl: server.wsUrl, room: 'firefox-hears-bot', name: 'Tone bot', source: new ToneSource(440), peer: { bindAddress: '127.0.0.1' } });
    await bot.start();
    const page = await firefox.newPage(`${server.url}/r/firefox-hears-bot?name=Listener`);
    const botId = bot.agent.id!;
    await waitForFirefox(page, (id) => {
      const v = document.querySelector(`[data-peer="${id}"] video`) as HTMLVideoElement | null;
      return Boolean(v?.srcObject && (v.srcObject as MediaStream).getAudioTracks().length > 0);
    }, botId, { what: "the bot's audio track on the Firefox page", timeoutMs: 15_000, debug: DEBUG_STATE });

    await new Promise((r) => setTimeout(r, 500)); // past the jitter buffer's start
    const { sampleRate, samples } = await page.evaluate((id) => window.callpeer!.audio(id, 1000), botId);
    const pcm = floatToInt16(samples);
    const peak = pcm.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(peak).toBeGreaterThan(3000); // really audio, not silence
    expect(Math.abs(dominantFrequency(pcm, sampleRate) - 440)).toBeLessThanOrEqual(1);
    expect(bot.stats().map((s) => s.name)).toEqual(['Listener']);
    await page.close();
    expect(firefox.pageErrors).toEqual([]);
  });
});
