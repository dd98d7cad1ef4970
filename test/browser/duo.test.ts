/**
 * The /duo page in real Chromium: two browsers whose fake microphones play different tones pair
 * over /ws/pcm and each hears the other's tone at the end of its playback path (PCM, Opus, and
 * one of each with the server transcoding); invite links and PAIR_FULL, mute, a partner
 * leaving, a server restart, the jitter buffer itself, and fallbacks in plain words.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { hasChromium, launchBrowser, screenshot, skipNote, toneWavFile, waitForPage, type Page, type TestBrowser } from '../helpers/browser.js';
import { startTestServer, useTestServer } from '../helpers/server.js';
import { BLOCK_ALL } from './call-page.js';
import { DEBUG_DUO, duoState, duoStats, measureHeard, openDuo, waitForPhase } from './duo-page.js';

/** Browser A's microphone plays A_HZ, browser B's B_HZ. */
const A_HZ = 440;
const B_HZ = 660;
const PHONE = { width: 390, height: 844 };

// One retry: Chromium's fake audio device on a busy 2-core machine now and then delivers a
// second of capture late (seen once in ~10 full runs: the partner's tone measured off); a real
// fault fails both tries.
describe.skipIf(!hasChromium())(`/duo page in Chromium${skipNote()}`, { timeout: 45_000, retry: 1 }, () => {
  const ctx = useTestServer();
  let a: TestBrowser;
  let b: TestBrowser;
  /** Pages of the running test, closed after it so the next one starts with an empty queue. */
  let pages: Page[] = [];

  beforeAll(async () => {
    [a, b] = await Promise.all([launchBrowser({ fakeAudioFile: toneWavFile(A_HZ) }), launchBrowser({ fakeAudioFile: toneWavFile(B_HZ) })]);
  });
  afterEach(async () => {
    await Promise.all(pages.map((p) => p.context().close()));
    pages = [];
    expect([...a.pageErrors, ...b.pageErrors]).toEqual([]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  async function open(browser: TestBrowser, query: Record<string, string> = {}, baseUrl = ctx.server.url): Promise<Page> {
    const page = await openDuo(browser, baseUrl, query);
    pages.push(page);
    return page;
  }

  /** A waits first, then B comes: FIFO pairing. */
  async function pair(queryA: Record<string, string>, queryB: Record<string, string>, baseUrl = ctx.server.url): Promise<[Page, Page]> {
    const pa = await open(a, queryA, baseUrl);
    await waitForPhase(pa, 'waiting');
    const pb = await open(b, queryB, baseUrl);
    await Promise.all([waitForPhase(pa, 'connected'), waitForPhase(pb, 'connected')]);
    return [pa, pb];
  }

  async function expectEachHearsTheOther(pa: Page, pb: Page): Promise<void> {
    const [heardByA, heardByB] = await Promise.all([measureHeard(pa), measureHeard(pb)]);
    expect(Math.abs(heardByA.hz - B_HZ)).toBeLessThanOrEqual(2);
    expect(Math.abs(heardByB.hz - A_HZ)).toBeLessThanOrEqual(2);
    // The tones are at 0.5 of full scale (RMS 0.35); a second with gaps or clipping would be far
    // off. Frames play back to back: no jump anywhere in that second.
    for (const h of [heardByA, heardByB]) {
      expect(h.level).toBeGreaterThan(0.3);
      expect(h.clicks).toBe(0);
    }
  }

  it('two pages in PCM mode pair and each hears the other\'s tone', async () => {
    const pa = await open(a, { codec: 'pcm' });
    await waitForPhase(pa, 'waiting');
    await waitForPage(pa, () => window.duo!.stats().level > 0.2, undefined, { what: 'the microphone level while waiting' });
    expect((await duoState(pa)).status).toBe('Waiting');
    await screenshot(pa, 'duo-waiting');
    const pb = await open(b, { codec: 'pcm' });
    await Promise.all([waitForPhase(pa, 'connected'), waitForPhase(pb, 'connected')]);
    expect((await duoState(pa)).receiving).toEqual({ codec: 'pcm', sampleRate: 48000 });
    await expectEachHearsTheOther(pa, pb);
    await screenshot(pa, 'duo-connected');

    const s = await duoStats(pa);
    expect(s.framesSent).toBeGreaterThan(25);
    // 20 ms of 48 kHz Int16 per frame, both ways.
    expect(s.bytesSent / s.framesSent).toBe(1920);
    expect(s.bytesReceived / s.framesReceived).toBe(1920);
    expect(s.codecErrors).toBe(0);
    // Latency stays bounded: the jitter buffer never holds more than its cushion plus 100 ms.
    expect(s.cushionMs).toBeLessThanOrEqual(200);
    expect(s.bufferedMs).toBeLessThanOrEqual(s.cushionMs + 100);
  });

  it('two pages in Opus mode (WebCodecs) pair and each hears the other\'s tone', async () => {
    const [pa, pb] = await pair({ codec: 'opus' }, { codec: 'opus' });
    expect(await duoState(pa)).toMatchObject({ codec: 'opus', opusAvailable: true, receiving: { codec: 'opus', sampleRate: 48000 } });
    await expectEachHearsTheOther(pa, pb);
    const s = await duoStats(pb);
    // One Opus packet per 20 ms frame at 32 kbit/s: about 80 bytes, not PCM's 1920.
    expect(s.bytesReceived / s.framesReceived).toBeLessThan(200);
    expect(s.bytesSent / s.framesSent).toBeLessThan(200);
    expect(s.codecErrors).toBe(0);
  });

  it('an Opus page and a PCM page hear each other through the server\'s transcoding', async () => {
    const [pa, pb] = await pair({ codec: 'opus' }, { codec: 'pcm' });
    expect((await duoState(pa)).receiving).toEqual({ codec: 'opus', sampleRate: 48000 });
    expect((await duoState(pb)).receiving).toEqual({ codec: 'pcm', sampleRate: 48000 });
    await expectEachHearsTheOther(pa, pb);
  });

  it('switching the format mid-call reconnects with it and the two pair again', async () => {
    const [pa, pb] = await pair({ codec: 'pcm' }, { codec: 'pcm' });
    await pa.click('label:has(#codec-opus)');
    await waitForPage(pa, () => window.duo!.state().receiving?.codec === 'opus', undefined, { what: 'A paired again in Opus', debug: DEBUG_DUO });
    await waitForPhase(pb, 'connected');
    expect((await duoState(pb)).receiving).toEqual({ codec: 'pcm', sampleRate: 48000 });
    const heard = await measureHeard(pa, (await duoStats(pa)).playedMs + 600);
    expect(Math.abs(heard.hz - B_HZ)).toBeLessThanOrEqual(2);
    expect((await duoState(pa)).codec).toBe('opus');
    expect(await pa.evaluate(() => localStorage.getItem('callpeer.duo.codec'))).toBe('opus');
  });

  it('an invite link pairs only the two people who have it; a third is told it is taken', async () => {
    const inviter = await browserPage(a);
    await inviter.click('#create-invite');
    const st = await duoState(inviter);
    expect(st.pair).toMatch(/^[A-Za-z0-9_-]{22}$/); // 128 random bits: not guessable
    expect(st.inviteUrl).toBe(`${ctx.server.url}/duo?pair=${st.pair}`);
    expect(await inviter.textContent('#invite-link')).toBe(st.inviteUrl);
    expect(new URL(inviter.url()).searchParams.get('pair')).toBe(st.pair);
    await inviter.click('#copy-invite');
    expect(await inviter.textContent('.toast')).toBe('Invite link copied');
    await inviter.click('#start');
    await waitForPhase(inviter, 'waiting');
    await screenshot(inviter, 'duo-invite-waiting');

    // Someone without the code waits on their own; the one with the link joins the inviter.
    const stranger = await open(b);
    await waitForPhase(stranger, 'waiting');
    const guest = await open(b, { pair: st.pair! });
    await Promise.all([waitForPhase(inviter, 'connected'), waitForPhase(guest, 'connected')]);
    expect((await duoState(stranger)).phase).toBe('waiting');
    expect((await duoState(guest)).inviteUrl).toBe(st.inviteUrl);
    const heard = await measureHeard(guest);
    expect(Math.abs(heard.hz - A_HZ)).toBeLessThanOrEqual(2);

    const third = await open(a, { pair: st.pair! });
    await waitForPhase(third, 'error', 'PAIR_FULL shown');
    const refused = await duoState(third);
    expect(refused.error?.code).toBe('PAIR_FULL');
    expect(await third.textContent('#headline')).toBe('This invite link is taken');
    expect(await third.textContent('#detail')).toContain('already talking with this invite link');
    expect(await third.isVisible('#start')).toBe(true);
    await screenshot(third, 'duo-pair-full');
    expect((await duoState(inviter)).phase).toBe('connected');
  });

  it('muting shows on the partner\'s page and stops the audio; unmuting brings it back; leaving frees the partner', async () => {
    const [pa, pb] = await pair({ codec: 'opus' }, { codec: 'opus' });
    await measureHeard(pa);
    await pb.click('#btn-mic');
    await waitForPage(pa, () => window.duo!.state().peerMuted, undefined, { what: 'B shown muted on A', debug: DEBUG_DUO });
    expect(await pa.getAttribute('#partner', 'class')).toContain('muted');
    expect(await pa.textContent('#partner-note')).toBe('Muted');
    expect(await pb.getAttribute('#btn-mic', 'aria-pressed')).toBe('true');
    // B sends nothing while muted, so A's speakers fall silent.
    const sent = (await duoStats(pb)).framesSent;
    await waitForPage(pa, () => window.duo!.stats().partnerLevel < 0.01, undefined, { what: 'silence on A', debug: DEBUG_DUO });
    expect((await duoStats(pb)).framesSent - sent).toBeLessThanOrEqual(2);
    await screenshot(pa, 'duo-partner-muted');

    await pb.keyboard.press('m');
    await waitForPage(pa, () => !window.duo!.state().peerMuted, undefined, { what: 'B shown unmuted on A', debug: DEBUG_DUO });
    await waitForPage(pa, () => window.duo!.stats().partnerLevel > 0.2, undefined, { what: 'B heard again', debug: DEBUG_DUO });

    // Leave: B's page goes back to its start card, A is told its partner left.
    await pb.click('#btn-leave');
    await waitForPhase(pb, 'idle');
    expect(await pb.isVisible('#start')).toBe(true);
    await waitForPage(pa, () => window.duo!.state().partnerLeft, undefined, { what: 'A told B left', debug: DEBUG_DUO });
  });

  it('when the partner closes the page the other shows "partner left, waiting" and pairs again', async () => {
    const [pa, pb] = await pair({ codec: 'pcm' }, { codec: 'pcm' });
    await pb.context().close();
    pages = pages.filter((p) => p !== pb);
    await waitForPage(pa, () => window.duo!.state().partnerLeft && window.duo!.state().phase === 'waiting', undefined, { what: 'partner left on A', debug: DEBUG_DUO });
    expect((await duoState(pa)).status).toBe('Partner left, waiting');
    expect(await pa.textContent('#headline')).toBe('Your partner left');
    await screenshot(pa, 'duo-partner-left');

    const next = await open(b, { codec: 'pcm' });
    await Promise.all([waitForPhase(pa, 'connected'), waitForPhase(next, 'connected')]);
    expect((await duoState(pa)).partnerLeft).toBe(false);
    const heard = await measureHeard(pa);
    expect(Math.abs(heard.hz - B_HZ)).toBeLessThanOrEqual(2);
  });

  it('reconnects with backoff after the server restarts, and the two pair again', async () => {
    let server: RunningServer | undefined = await startTestServer();
    const port = Number(new URL(server.url).port);
    try {
      const [pa, pb] = await pair({ codec: 'pcm' }, { codec: 'pcm' }, server.url);
      await server.close();
      server = undefined;
      await Promise.all([pa, pb].map((p) => waitForPhase(p, 'reconnecting')));
      expect((await duoState(pa)).status).toBe('Reconnecting');
      await screenshot(pa, 'duo-reconnecting');
      // Attempts fail while it is down; the page keeps trying with growing delays.
      await new Promise((r) => setTimeout(r, 1500));
      server = await startTestServer({ port });
      await Promise.all([pa, pb].map((p) => waitForPhase(p, 'connected', 'paired again after the restart', 15_000)));
      expect((await duoStats(pa)).reconnects).toBeGreaterThanOrEqual(1);
      const heard = await measureHeard(pb, (await duoStats(pb)).playedMs + 600);
      expect(Math.abs(heard.hz - A_HZ)).toBeLessThanOrEqual(2);
    } finally {
      await server?.close();
    }
  });

  it('falls back to PCM with a note where WebCodecs cannot do Opus', async () => {
    const page = await browserPage(b, { codec: 'opus' }, 'delete window.AudioEncoder; delete window.AudioDecoder;', PHONE);
    const st = await duoState(page);
    expect(st).toMatchObject({ opusAvailable: false, codec: 'pcm' });
    expect(await page.isDisabled('#codec-opus')).toBe(true);
    expect(await page.textContent('#codec-note')).toContain('audio goes as PCM');
    await page.click('#start');
    await waitForPhase(page, 'waiting');
    await screenshot(page, 'duo-phone-pcm-only');
  });

  it('says in plain words when the microphone is blocked', async () => {
    const page = await browserPage(b, {}, BLOCK_ALL);
    await page.click('#start');
    await waitForPhase(page, 'error');
    expect((await duoState(page)).error?.code).toBe('MICROPHONE');
    expect(await page.textContent('#detail')).toContain('microphone is blocked');
    expect(await page.textContent('#start')).toBe('Start again');
  });

  it('stops and says so when the microphone goes away', async () => {
    const keepStream = `{
      const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      navigator.mediaDevices.getUserMedia = async (c) => (window.testStream = await real(c));
    }`;
    const page = await browserPage(b, {}, keepStream);
    await page.click('#start');
    await waitForPhase(page, 'waiting');
    // What a browser does when the device is unplugged: the track ends.
    await page.evaluate(() => (window as unknown as { testStream: MediaStream }).testStream.getAudioTracks()[0]!.dispatchEvent(new Event('ended')));
    await waitForPhase(page, 'error');
    expect((await duoState(page)).error?.code).toBe('MICROPHONE');
    expect(await page.textContent('#detail')).toContain('The microphone stopped');
  });

  it('says so when an invite link\'s code is broken, and pairs first come, first served instead', async () => {
    const page = await browserPage(b, { pair: 'no spaces allowed' });
    const st = await duoState(page);
    expect(st.pair).toBeNull();
    expect(st.banners.join(' ')).toContain('This invite link is broken');
    expect(await page.isHidden('#invite-box')).toBe(true);
  });

  it('the jitter buffer waits for its cushion, plays back to back, conceals underruns and trims lag', async () => {
    const page = await browserPage(a);
    const r = await page.evaluate(async () => {
      // Built at run time: vitest rewrites a literal import() in this file, and this runs in the page.
      const load = new Function('url', 'return import(url)') as (url: string) => Promise<any>;
      const { JitterBuffer } = await load('/duo/jitter-buffer.js');
      const jb = new JitterBuffer({ sampleRate: 48000, startMs: 50, slackMs: 100, stepMs: 20 });
      const out = new Float32Array(128);
      const frame = (n: number) => Float32Array.from({ length: 960 }, (_, i) => (n * 960 + i + 1) / 1e6);
      const log: Record<string, unknown> = {};
      jb.push(frame(0));
      jb.push(frame(1));
      jb.pull(out);
      log.silentBeforeCushion = out.every((v) => v === 0);
      jb.push(frame(2));
      // 2880 samples >= the 2400-sample cushion: plays, in order, faded in over 64 samples,
      // and the 23rd quantum runs dry half way.
      const played: number[] = [];
      for (let i = 0; i < 23; i++) { jb.pull(out); played.push(...out); }
      log.fadeIn = played[0] === 0 && played[32]! < (33 / 1e6) && played[63]! < (64 / 1e6);
      log.inOrder = played.slice(64, 2816).every((v, i) => Math.abs(v - (i + 65) / 1e6) < 1e-9);
      log.underrunsAfterDry = jb.underruns;
      log.tailSilent = played.slice(2880).every((v) => v === 0);
      log.cushionAfterUnderrun = jb.cushion;
      for (let n = 0; n < 20; n++) jb.push(frame(n));
      log.bufferedAfterBurst = jb.buffered;
      log.dropped = jb.dropped;
      // The sender mutes: what is left plays out, and the silence after it is no underrun.
      jb.pause(true);
      for (let i = 0; i < 80; i++) jb.pull(out);
      log.afterPause = { buffered: jb.buffered, underruns: jb.underruns, cushion: jb.cushion };
      return log;
    });
    expect(r).toEqual({
      silentBeforeCushion: true, fadeIn: true, inOrder: true, underrunsAfterDry: 1, tailSilent: true,
      // +20 ms after the underrun
      cushionAfterUnderrun: 3360,
      // 400 ms in a burst: trimmed back to the 70 ms cushion each time it passed 170 ms (8160)
      bufferedAfterBurst: 8160,
      dropped: 19200 - 8160,
      afterPause: { buffered: 0, underruns: 1, cushion: 3360 },
    });
  });

  /** A /duo page not yet started (for tests that act before Start). */
  async function browserPage(browser: TestBrowser, query: Record<string, string> = {}, initScript?: string, viewport?: { width: number; height: number }): Promise<Page> {
    const page = await browser.newPage(`${ctx.server.url}/duo?${new URLSearchParams({ raw: '1', ...query })}`, { ...(initScript !== undefined && { initScript }), ...(viewport && { viewport }) });
    pages.push(page);
    await waitForPage(page, () => window.duo?.state().phase === 'idle', undefined, { what: 'the duo page ready' });
    return page;
  }
});
