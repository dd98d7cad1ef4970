/**
 * The PCM gateway seen from the call page (PROTOCOL.md "The PCM gateway"): a /ws/pcm?room=
 * client at 16 kHz is a `phone` participant. Real Chromium (its fake microphone plays 440 Hz)
 * shows it as a tile with a phone icon and no video, lights its speaking indicator while it
 * speaks (880 Hz, real-time 20 ms frames) and turns it off when it stops, and hears its tone;
 * the phone's mix holds the page's tone and never its own. In an SFU room and in a mesh room
 * (where a Node mesh member takes part too). A Twilio Media Streams caller (/ws/twilio) too.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { dominantFrequency, toneShare } from '../../src/media/analysis.js';
import { bytesToInt16 } from '../../src/media/pcm.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { hasChromium, launchBrowser, screenshot, skipNote, toneWavFile, waitForPage, type Page, type TestBrowser } from '../helpers/browser.js';
import { until } from '../helpers/rtc.js';
import { startTestServer } from '../helpers/server.js';
import { PcmProbe } from '../integration/pcm-harness.js';
import { meshMember } from '../integration/mesh-helpers.js';
import { frequencyOf, PEER, sfuMember } from '../integration/sfu-helpers.js';
import { TwilioAgent } from '../integration/twilio-agent.js';
import { Bridge } from '../../src/bots/bridge/bridge.js';
import { TwilioCaller } from '../integration/twilio-caller.js';
import { DEBUG_STATE, heardHz, joinCall, state } from './call-page.js';

const PAGE_HZ = 440;
const PHONE_HZ = 880;
const RATE = 16000;


/** Waits until `page` receives `id`'s audio: an audio track on its tile and packets arriving. */
async function waitForAudioFrom(page: Page, id: string, timeoutMs = 20_000): Promise<void> {
  await waitForPage(page, async (peer) => {
    const all = await window.callpeer!.stats();
    const video = document.querySelector<HTMLVideoElement>(`.tile[data-peer="${peer}"] video`);
    const track = (video?.srcObject as MediaStream | null)?.getAudioTracks()[0];
    return track !== undefined && (all[peer]?.inbound.audio?.packetsReceived ?? 0) > 50;
  }, id, { timeoutMs, what: `audio from ${id}`, debug: DEBUG_STATE });
}

/** The tile of `id` as the page draws it. */
function phoneTile(page: Page, id: string) {
  return page.evaluate((peer) => {
    const tile = document.querySelector(`.tile[data-peer="${peer}"]`);
    const info = window.callpeer!.state().peers.find((p) => p.id === peer)?.tile ?? null;
    return {
      exists: tile !== null,
      phoneClass: tile?.classList.contains('phone') ?? false,
      // The avatar shows the phone icon (the handset path), not initials.
      icon: tile?.querySelector('.avatar span svg path')?.getAttribute('d')?.startsWith('M22 16.92') ?? false,
      initials: tile?.querySelector('.avatar span')?.textContent ?? '',
      avatarVisible: tile ? getComputedStyle(tile.querySelector('.avatar')!).display !== 'none' : false,
      name: tile?.querySelector('.nameplate .name')?.textContent ?? '',
      role: tile?.querySelector('.nameplate .role')?.textContent ?? '',
      showsVideo: info?.showsVideo ?? null,
      speaking: info?.speaking ?? null,
    };
  }, id);
}

/**
 * The phone joins `room` (the page is in it), speaks: the page shows its tile (icon, name, no
 * video) speaking and hears 880 Hz; the phone's mix holds `mixHz` and not 880 Hz; it stops: the
 * indicator goes off. Returns the phone (still in the room) and its id.
 */
async function phoneMeetsPage(server: RunningServer, page: Page, room: string, mixHz: number[], screenshotName?: string) {
  const phone = await PcmProbe.open(server, { room, rate: String(RATE), name: 'Desk phone' });
  await phone.waitFor('connected', 1, 10_000);
  const phoneId = phone.last('connected').id as string;
  let stop = phone.speak(PHONE_HZ, RATE);
  try {
    await waitForPage(page, (id) => window.callpeer!.state().peers.some((p) => p.id === id), phoneId, { what: 'the phone listed', debug: DEBUG_STATE });
    expect((await state(page)).peers.find((p) => p.id === phoneId)).toMatchObject({ name: 'Desk phone', role: 'phone', video: false });
    await waitForAudioFrom(page, phoneId);
    const tile = await phoneTile(page, phoneId);
    expect(tile).toMatchObject({ exists: true, phoneClass: true, icon: true, initials: '', avatarVisible: true, name: 'Desk phone', role: 'phone', showsVideo: false });

    // Its speaking indicator (the tile's green border, from the level of its audio) turns on.
    await waitForPage(page, (id) => window.callpeer!.state().peers.find((p) => p.id === id)?.tile?.speaking === true, phoneId, { what: 'the phone shown speaking', debug: DEBUG_STATE });
    expect(await page.locator(`.tile.speaking[data-peer="${phoneId}"]`).count()).toBe(1);
    if (screenshotName) await screenshot(page, screenshotName);

    // The page hears the phone's tone.
    expect(Math.abs((await heardHz(page, phoneId)) - PHONE_HZ)).toBeLessThanOrEqual(1);

    // The phone's mix: the others' tones, never its own (2 s, measured in 100 ms blocks).
    const from = phone.audioBytes;
    await until(() => phone.audioBytes - from >= RATE * 2 * 2, 10_000, '2 s of the phone\'s mix');
    const mix = bytesToInt16(Buffer.concat(phone.audio).subarray(from));
    if (mixHz.length === 1) expect(Math.abs(dominantFrequency(mix, RATE) - mixHz[0]!)).toBeLessThanOrEqual(1);
    for (const hz of mixHz) expect(toneShare(mix, RATE, hz)).toBeGreaterThan(mixHz.length === 1 ? 0.5 : 0.1);
    expect(toneShare(mix, RATE, PHONE_HZ)).toBeLessThan(0.01);

    // It stops speaking: the indicator goes off.
    stop();
    stop = () => {};
    await waitForPage(page, (id) => window.callpeer!.state().peers.find((p) => p.id === id)?.tile?.speaking === false, phoneId, { what: 'the phone shown silent', debug: DEBUG_STATE, timeoutMs: 5000 });
    // ...and stays off (no stray level from concealment or comfort noise).
    await page.waitForTimeout(1000);
    expect((await phoneTile(page, phoneId)).speaking).toBe(false);
  } finally {
    stop();
  }
  return { phone, phoneId };
}

describe.skipIf(!hasChromium())(`the call page with a PCM (phone) participant${skipNote()}`, { timeout: 90_000 }, () => {
  let server: RunningServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
    browser = await launchBrowser({ fakeAudioFile: toneWavFile(PAGE_HZ) });
  });

  const cleanupAfter: Array<() => unknown> = [];
  afterEach(async () => { for (const c of cleanupAfter.splice(0).reverse()) await c(); });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    cleanupRtc();
  });

  it('SFU room with a Node member: a phone tile with an icon and no video, speaking while the phone speaks; page, member and phone hear each other, the phone never itself', async () => {
    const page = await joinCall(browser, server.url, 'pcm-sfu', 'Ada', { query: { raw: '1' } });
    // A node-datachannel member too, as in the mesh room.
    const node = await sfuMember(server.wsUrl, 'pcm-sfu', 'Node tone', 660);
    cleanupAfter.push(() => node.stop());
    const { phone, phoneId } = await phoneMeetsPage(server, page, 'pcm-sfu', [PAGE_HZ, 660], 'phone-tile-sfu');
    await until(() => (node.heard.get(phoneId)?.length ?? 0) >= 100, 10_000, 'the phone heard by the Node member');
    expect(Math.abs(frequencyOf(node.heard.get(phoneId)!.slice(-100)) - PHONE_HZ)).toBeLessThanOrEqual(1);
    // The people list shows it with the phone icon too.
    await page.click('#btn-people');
    expect(await page.locator(`li[data-peer="${phoneId}"] .mini-avatar svg path`).getAttribute('d')).toMatch(/^M22 16\.92/);
    expect(await page.locator(`li[data-peer="${phoneId}"] small`).textContent()).toContain('phone');
    // It leaves: the tile goes.
    phone.close();
    await waitForPage(page, (id) => document.querySelector(`.tile[data-peer="${id}"]`) === null, phoneId, { what: 'the phone tile removed', debug: DEBUG_STATE });
    await page.close();
    expect(browser.pageErrors).toEqual([]);
  });

  it('mesh room with a Node mesh member: the same tile and indicator; the phone hears the page and the Node member, never itself', async () => {
    // A room of its own each try (a retry must not find the first try's room: 409).
    const room = `pcm-mesh-${Date.now().toString(36)}`;
    expect((await fetch(`${server.url}/api/rooms`, { method: 'POST', body: JSON.stringify({ id: room, topology: 'mesh' }) })).status).toBe(201);
    const page = await joinCall(browser, server.url, room, 'Bea', { query: { raw: '1' } });
    expect((await state(page)).peers).toEqual([]);
    const node = await meshMember(server.wsUrl, room, 'Node tone', 660);
    try {
      const { phone, phoneId } = await phoneMeetsPage(server, page, room, [PAGE_HZ, 660], 'phone-tile-mesh');
      // The Node member hears the phone's tone too (its own link to the gateway).
      await until(() => (node.heard.get(phoneId)?.length ?? 0) >= 100, 10_000, 'the phone heard by the Node member');
      expect(Math.abs(frequencyOf(node.heard.get(phoneId)!.slice(-100)) - PHONE_HZ)).toBeLessThanOrEqual(1);
      expect((await state(page)).peers.map((p) => p.name).sort()).toEqual(['Desk phone', 'Node tone']);
      phone.close();
      await waitForPage(page, (id) => document.querySelector(`.tile[data-peer="${id}"]`) === null, phoneId, { what: 'the phone tile removed', debug: DEBUG_STATE });
    } finally {
      await node.stop();
    }
    await page.close();
    expect(browser.pageErrors).toEqual([]);
  });

  it('callpeer bridge with an echo agent (twilio dialect): the page\'s tone comes back into the room from the bridge', async () => {
    const page = await joinCall(browser, server.url, 'pcm-bridge', 'Dee', { query: { raw: '1' } });
    const agent = await TwilioAgent.listen();
    agent.echo = true;
    cleanupAfter.push(() => agent.close());
    const bridge = new Bridge({ wsUrl: server.wsUrl, room: 'pcm-bridge', to: agent.url, dialect: 'twilio', peer: PEER });
    cleanupAfter.push(() => bridge.close());
    await bridge.start();
    await waitForPage(page, () => window.callpeer!.state().peers.some((p) => p.role === 'bot'), undefined, { what: 'the bridge listed', debug: DEBUG_STATE });
    const id = (await state(page)).peers.find((p) => p.role === 'bot')!.id;
    await waitForAudioFrom(page, id);
    // The agent heard the page (8 kHz µ-law) and sent it back: the page hears its own 440 Hz from the bridge.
    expect(Math.abs((await heardHz(page, id)) - PAGE_HZ)).toBeLessThanOrEqual(1);
    await page.close();
    expect(browser.pageErrors).toEqual([]);
  });

  it('a Twilio Media Streams caller (/ws/twilio): the page hears its 1 kHz tone, and its media messages carry the page\'s tone', async () => {
    const page = await joinCall(browser, server.url, 'pcm-twilio', 'Cy', { query: { raw: '1' } });
    const caller = await TwilioCaller.dial(server.url, 'pcm-twilio');
    try {
      caller.start({ name: 'Front desk' });
      caller.speak(1000);
      await waitForPage(page, () => window.callpeer!.state().peers.some((p) => p.role === 'phone'), undefined, { what: 'the caller listed', debug: DEBUG_STATE });
      const phone = (await state(page)).peers.find((p) => p.role === 'phone')!;
      expect(phone).toMatchObject({ name: 'Front desk', video: false });
      await waitForAudioFrom(page, phone.id);
      expect(Math.abs((await heardHz(page, phone.id)) - 1000)).toBeLessThanOrEqual(1);
      // 50 media messages a second for its stream; decoded, they are the page's tone.
      const from = caller.media.length;
      await page.waitForTimeout(2000);
      const got = caller.media.slice(from);
      expect(got.length).toBeGreaterThanOrEqual(90);
      expect(got.length).toBeLessThanOrEqual(110);
      expect(got.every((m) => m.streamSid === caller.streamSid && m.payload.length === 160)).toBe(true);
      const mix = caller.heardSince(from);
      expect(Math.abs(dominantFrequency(mix, 8000) - PAGE_HZ)).toBeLessThanOrEqual(1);
      expect(toneShare(mix, 8000, 1000)).toBeLessThan(0.01);
      caller.stop();
      expect(await caller.closed).toBe(1000);
      await waitForPage(page, (id) => document.querySelector(`.tile[data-peer="${id}"]`) === null, phone.id, { what: 'the caller tile removed', debug: DEBUG_STATE });
    } finally {
      caller.close();
    }
    await page.close();
    expect(browser.pageErrors).toEqual([]);
  });
});

