/**
 * The call page in real Chromium: two (then three) pages in one mesh room exchange audio and
 * video, see each other's mute state, chat, share a screen, and leave.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { dominantFrequency, rms } from '../../src/media/analysis.js';
import {
  floatToInt16, hasChromium, launchBrowser, screenshot, skipNote, toneWavFile, waitForPage, type Page, type TestBrowser,
} from '../helpers/browser.js';
import { DEBUG_STATE, joinCall, state, stats, waitForPeersPlaying } from './call-page.js';
import { startTestServer } from '../helpers/server.js';

describe.skipIf(!hasChromium())(`call page in Chromium${skipNote()}`, { timeout: 30_000 }, () => {
  let server: RunningServer;
  let browser: TestBrowser;
  let alice: Page;
  let bob: Page;
  const room = 'browser-call';
  /** Every page's fake microphone plays this tone; `raw` turns audio processing off so it keeps its level. */
  const TONE_HZ = 440;
  const RAW = { raw: '1' };

  beforeAll(async () => {
    server = await startTestServer({ maxMembers: 3 });
    browser = await launchBrowser({ fakeAudioFile: toneWavFile(TONE_HZ) });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('two pages in one room see each other\'s video and receive each other\'s audio', async () => {
    alice = await joinCall(browser, server.url, room, 'Alice', { query: RAW });
    bob = await joinCall(browser, server.url, room, 'Bob', { query: RAW });
    await Promise.all([waitForPeersPlaying(alice, 1), waitForPeersPlaying(bob, 1)]);

    const first = await state(alice);
    expect(first.peers[0]!.name).toBe('Bob');
    const t0 = first.peers[0]!.tile!.currentTime;
    const before = Object.values(await stats(alice))[0]!;
    await waitForPage(alice, ([t, n]) => {
      const tile = window.callpeer!.state().peers[0]!.tile!;
      return tile.currentTime > t + 0.5 && tile.frames > n + 10;
    }, [t0, first.peers[0]!.tile!.frames] as const, { what: 'Bob\'s video to keep advancing' });
    const after = Object.values(await stats(alice))[0]!;
    expect(after.inbound.audio!.packetsReceived).toBeGreaterThan(before.inbound.audio!.packetsReceived);
    expect(after.inbound.video!.framesDecoded).toBeGreaterThan(before.inbound.video!.framesDecoded ?? 0);

    // What Alice hears from Bob is Bob's microphone tone, and her page shows him speaking.
    const heard = await alice.evaluate((id) => window.callpeer!.audio(id, 400), first.peers[0]!.id);
    const pcm = floatToInt16(heard.samples);
    expect(rms(pcm)).toBeGreaterThan(0.2); // the tone is at 0.5 of full scale: RMS 0.35
    expect(Math.abs(dominantFrequency(pcm, heard.sampleRate) - TONE_HZ)).toBeLessThan(10);
    await waitForPage(alice, () => window.callpeer!.state().peers[0]!.tile!.speaking, undefined, { what: 'Bob shown speaking', debug: DEBUG_STATE });

    // Loopback is a perfect network: the page's own check finds nothing wrong, and the server's
    // reading of Bob (from Alice's stats) shows four bars.
    await waitForPage(alice, () => window.callpeer!.state().peers[0]!.tile!.quality === 'good', undefined, { what: 'a quality verdict' });
    await waitForPage(alice, () => window.callpeer!.state().peers[0]!.tile!.signal?.bars === 4, undefined, { what: 'four signal bars on Bob\'s tile', debug: DEBUG_STATE });
    expect(await alice.locator('.tile:not(.local) .badge.signal[data-bars="4"]').count()).toBe(1);
    expect(after.rttMs).toBeLessThan(50);

    const bobStats = Object.values(await stats(bob))[0]!;
    expect(bobStats.inbound.audio!.packetsReceived).toBeGreaterThan(0);
    expect(browser.pageErrors).toEqual([]);
  });

  it('muting the microphone and turning the camera off show on the other page', async () => {
    await bob.click('#btn-mic');
    await waitForPage(alice, () => {
      const p = window.callpeer!.state().peers[0]!;
      return !p.audio;
    }, undefined, { what: 'Bob shown muted on Alice\'s page', debug: DEBUG_STATE });
    expect(await alice.locator('.tile:not(.local) .badge.mic-off').count()).toBe(1);

    await bob.click('#btn-cam');
    await waitForPage(alice, () => {
      const p = window.callpeer!.state().peers[0]!;
      return !p.video && p.tile!.showsVideo === false;
    }, undefined, { what: 'Bob\'s camera shown off', debug: DEBUG_STATE });
    // Camera off really releases the camera (its light goes out).
    expect((await state(bob)).tracks.filter((t) => t.kind === 'video')).toEqual([]);

    // Back on with the keyboard shortcuts (Ctrl+D microphone, Ctrl+E camera).
    await bob.keyboard.press('Control+d');
    await bob.keyboard.press('Control+e');
    await waitForPage(alice, () => {
      const p = window.callpeer!.state().peers[0]!;
      return p.audio && p.video && p.tile!.showsVideo;
    }, undefined, { what: 'Bob back on', debug: DEBUG_STATE });
  });

  it('a chat line reaches everyone, the sender included', async () => {
    await alice.click('#btn-chat');
    await alice.fill('#chat-input', 'hello from Alice');
    await alice.press('#chat-input', 'Enter');
    const line = await waitForPage(bob, () => window.callpeer!.state().chat.find((l) => l.text === 'hello from Alice'),
      undefined, { what: 'the chat line on Bob\'s page' });
    expect(line.name).toBe('Alice');
    expect(typeof line.ts).toBe('number');
    await waitForPage(alice, () => window.callpeer!.state().chat.length === 1, undefined, { what: 'Alice\'s own line echoed' });
    expect(await bob.locator('#unread').textContent()).toBe('1');
  });

  it('the settings dialog switches microphone and speaker while the audio keeps flowing', async () => {
    await alice.click('#btn-settings');
    await waitForPage(alice, () => document.querySelectorAll('#set-audioinput option').length > 1, undefined, { what: 'the microphone list' });
    await alice.selectOption('#set-audioinput', { label: 'Fake Audio Input 1' });
    await waitForPage(alice, () => window.callpeer!.state().tracks.some((t) => t.kind === 'audio' && t.label === 'Fake Audio Input 1' && t.readyState === 'live'),
      undefined, { what: 'the new microphone in use', debug: DEBUG_STATE });
    await alice.selectOption('#set-audiooutput', { label: 'Fake Audio Output 1' });
    expect((await state(alice)).speaker).not.toBe('');
    await screenshot(alice, 'call-settings');
    await alice.click('#settings-form button[type=submit]');
    expect(await alice.locator('#settings').isHidden()).toBe(true);

    // Bob still receives Alice's audio (now from the other microphone), without renegotiation.
    const before = Object.values(await stats(bob))[0]!.inbound.audio!.packetsReceived;
    await waitForPage(bob, (n) => window.callpeer!.stats().then((s) => Object.values(s)[0]!.inbound.audio!.packetsReceived > n + 25),
      before, { what: 'audio packets after the switch' });
    expect((await state(alice)).tracks.filter((t) => t.kind === 'audio' && t.readyState === 'live')).toHaveLength(1);
  });

  it('screen sharing replaces the video the other page receives and stopping restores it', async () => {
    await alice.click('#btn-screen');
    // The fake screen is 1280x720, the camera 640x360 (as the page asks).
    await waitForPage(bob, () => {
      const p = window.callpeer!.state().peers[0]!;
      return p.screen && p.tile!.videoWidth > 1000;
    }, undefined, { what: 'Alice\'s screen on Bob\'s page', timeoutMs: 15_000, debug: DEBUG_STATE });
    // The shared screen takes the big spot on the other page.
    const seen = await state(bob);
    expect(seen.spotlight).toBe(seen.peers[0]!.id);
    await screenshot(bob, 'call-screen-share');
    await alice.click('#btn-screen');
    await waitForPage(bob, () => {
      const p = window.callpeer!.state().peers[0]!;
      // At most the camera's size (a busy machine may send it scaled down).
      return !p.screen && p.tile!.videoWidth > 0 && p.tile!.videoWidth <= 640;
    }, undefined, { what: 'Alice\'s camera back on Bob\'s page', timeoutMs: 15_000, debug: DEBUG_STATE });
    expect((await state(bob)).spotlight).toBeNull();

    // A click pins a tile big; a second click unpins it.
    await bob.click('.tile:not(.local)');
    expect((await state(bob)).spotlight).toBe(seen.peers[0]!.id);
    await bob.click('.tile:not(.local)');
    expect((await state(bob)).spotlight).toBeNull();
  });

  it('a third person joins a running call; a screenshot shows the three-person call', async () => {
    const carol = await joinCall(browser, server.url, room, 'Carol', { viewport: { width: 390, height: 844 }, query: RAW });
    await Promise.all([waitForPeersPlaying(carol, 2), waitForPeersPlaying(alice, 2), waitForPeersPlaying(bob, 2)]);
    await bob.click('#btn-mic');
    await waitForPage(alice, () => window.callpeer!.state().peers.some((p) => p.name === 'Bob' && !p.audio), undefined, { what: 'Bob muted' });
    await alice.click('#btn-people');
    await screenshot(alice, 'call-three-people');
    await screenshot(carol, 'call-three-people-phone');
    await bob.click('#btn-chat');
    await bob.fill('#chat-input', 'Carol, can you see my slides?');
    await bob.press('#chat-input', 'Enter');
    await carol.click('#btn-chat');
    await carol.fill('#chat-input', 'Yes, all good here');
    await carol.press('#chat-input', 'Enter');
    await waitForPage(carol, () => window.callpeer!.state().chat.length === 2, undefined, { what: 'two chat lines on Carol\'s page' });
    await screenshot(carol, 'call-chat-phone');
    const phone = await browser.newPage(`${server.url}/r/${room}?name=Dave`, { viewport: { width: 390, height: 844 } });
    // maxMembers is 3: the phone-sized page is refused, which is its own screenshot.
    await waitForPage(phone, () => window.callpeer?.state().phase === 'full', undefined, { what: 'room full', debug: DEBUG_STATE });
    await phone.close();
    await carol.close();
    await waitForPage(alice, () => window.callpeer!.state().peers.length === 1, undefined, { what: 'Carol gone' });
  });

  it('leaving removes the tile on the other page', async () => {
    await bob.click('#btn-leave');
    await waitForPage(alice, () => window.callpeer!.state().peers.length === 0 && document.querySelectorAll('.tile:not(.invite)').length === 1,
      undefined, { what: 'Bob\'s tile removed', debug: DEBUG_STATE });
    // Alone again: the invite card with the room's link takes the empty place.
    expect(await alice.locator('#invite code').textContent()).toBe(`${server.url}/r/${room}`);
    await screenshot(alice, 'call-alone');
    expect((await state(bob)).phase).toBe('left');
    expect(browser.pageErrors).toEqual([]);
  });
});
