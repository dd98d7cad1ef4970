/**
 * Chromium on the call page hears a tone bot: the bot runs in this process (node-datachannel),
 * the page joins by link, and the tone's frequency is measured from the page's remote stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { Bot } from '../../src/bots/bot.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { floatToInt16, hasChromium, launchBrowser, screenshot, skipNote, waitForPage, type TestBrowser } from '../helpers/browser.js';
import './call-page.js'; // window.callpeer's type
import { startTestServer } from '../helpers/server.js';

describe.skipIf(!hasChromium())(`call page and a bot${skipNote()}`, () => {
  let server: RunningServer;
  let browser: TestBrowser;
  let bot: Bot;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await bot?.close();
    await browser?.close();
    await server?.close();
    cleanupRtc();
  });

  it('a page hears a --tone 440 bot at 440 Hz (±1 Hz)', async () => {
    bot = new Bot({ wsUrl: server.wsUrl, room: 'hear-bot', name: 'Tone bot', source: new ToneSource(440), peer: { bindAddress: '127.0.0.1' } });
    await bot.start();
    const page = await browser.newPage(`${server.url}/r/hear-bot?name=Listener`);
    const botId = bot.agent.id!;
    await waitForPage(page, (id) => {
      const v = document.querySelector(`[data-peer="${id}"] video`) as HTMLVideoElement | null;
      return Boolean(v?.srcObject && (v.srcObject as MediaStream).getAudioTracks().length > 0);
    }, botId, { what: "the bot's audio track on the page", timeoutMs: 15_000 });

    // 1.5 s of what the page hears from the bot, through its own test hook, measured in three
    // 0.5 s windows: Chromium's jitter buffer may time-stretch (splice) its playout once in a
    // while, which smears one window; the median of three is the tone.
    await new Promise((r) => setTimeout(r, 500)); // past the jitter buffer's start
    const { sampleRate, samples } = await page.evaluate((id) => window.callpeer!.audio(id, 1500), botId);
    const pcm = floatToInt16(samples);
    const peak = pcm.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(peak).toBeGreaterThan(3000); // really audio, not silence
    const windowSamples = Math.round(sampleRate / 2);
    const freqs = [0, 1, 2].map((k) => dominantFrequency(pcm.subarray(k * windowSamples, (k + 1) * windowSamples), sampleRate)).sort((a, b) => a - b);
    expect(Math.abs(freqs[1]! - 440), `windows: ${freqs.join(', ')} Hz`).toBeLessThanOrEqual(1);

    // the bot, too, lists the page as its participant
    expect(bot.stats().map((s) => s.name)).toEqual(['Listener']);
    await screenshot(page, 'call-with-tone-bot');
    await page.close();
  });
});
