/**
 * The call page in an SFU room (`serve --topology sfu`): each page has one connection, to the
 * server, which forwards every publisher's audio. Two Chromium pages (each its own fake
 * microphone tone) hear each other; a page and a Node SfuAgent hear each other; the header
 * says SFU and the camera and screen buttons work (video: sfu-video.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { SfuAgent } from '../../src/client/sfu-agent.js';
import { isRtcp } from '../../src/media/rtp.js';
import { OpusSender } from '../../src/rtc/opus-sender.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import {
  hasChromium, launchBrowser, screenshot, skipNote, toneWavFile, waitForPage, type Page, type TestBrowser,
} from '../helpers/browser.js';
import { until } from '../helpers/rtc.js';
import { startTestServer } from '../helpers/server.js';
import { BLOCK_ALL, DEBUG_STATE, heardHz, joinCall, state, stats, type CallState } from './call-page.js';
import { frequencyOf } from '../integration/sfu-helpers.js';

const RAW = { raw: '1' };

/** The hook's state, with the topology call-page.ts does not type yet. */
async function sfuState(page: Page): Promise<CallState & { topology: string }> {
  return (await state(page)) as CallState & { topology: string };
}

/** Waits until `page` hears `id` through the server: connected, an audio track on its tile, audio packets arriving. */
async function waitForAudioFrom(page: Page, id: string, timeoutMs = 20_000): Promise<void> {
  await waitForPage(page, async (peer) => {
    const all = await window.callpeer!.stats();
    const p = window.callpeer!.state().peers.find((x) => x.id === peer);
    const video = document.querySelector<HTMLVideoElement>(`.tile[data-peer="${peer}"] video`);
    const track = (video?.srcObject as MediaStream | null)?.getAudioTracks()[0];
    return p?.connection === 'connected' && track !== undefined && (all[peer]?.inbound.audio?.packetsReceived ?? 0) > 50;
  }, id, { timeoutMs, what: `audio from ${id}`, debug: DEBUG_STATE });
}

/** A Node member that publishes a tone once negotiated and keeps each publisher's RTP it hears. */
async function toneAgent(wsUrl: string, room: string, hz: number) {
  const agent = new SfuAgent({ wsUrl, room, name: 'Node tone', peer: { bindAddress: '127.0.0.1' } });
  const heard = new Map<string, Buffer[]>();
  let sender: OpusSender | undefined;
  agent.on('track', (publisher, track) => {
    const packets: Buffer[] = [];
    heard.set(publisher, packets);
    track.onRtp = (p) => { if (!isRtcp(p)) packets.push(Buffer.from(p)); };
  });
  agent.on('negotiated', (peer) => {
    const track = peer.tracks().find((t) => t.direction === 'sendonly');
    if (sender || !track) return;
    sender = new OpusSender(track);
    sender.play(new ToneSource(hz));
  });
  await agent.start();
  return { id: agent.id!, heard, stop: async () => { sender?.close(); await agent.close(); } };
}

describe.skipIf(!hasChromium())(`call page in an SFU room${skipNote()}`, { timeout: 60_000 }, () => {
  let server: RunningServer;
  /** Two browsers, because the fake microphone's tone is per browser: Ada's 440 Hz, Bob's 660 Hz. */
  let low: TestBrowser;
  let high: TestBrowser;

  beforeAll(async () => {
    server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
    [low, high] = await Promise.all([launchBrowser({ fakeAudioFile: toneWavFile(440) }), launchBrowser({ fakeAudioFile: toneWavFile(660) })]);
  });

  afterAll(async () => {
    await low?.close();
    await high?.close();
    await server?.close();
    cleanupRtc();
  });

  it('two pages hear each other\'s tone through the server and show each other\'s tile', async () => {
    const ada = await joinCall(low, server.url, 'sfu-pages', 'Ada', { query: RAW });
    const bob = await joinCall(high, server.url, 'sfu-pages', 'Bob', { query: RAW });
    const [a, b] = await Promise.all([sfuState(ada), sfuState(bob)]);
    expect([a.topology, b.topology]).toEqual(['sfu', 'sfu']);
    await Promise.all([waitForAudioFrom(ada, b.id), waitForAudioFrom(bob, a.id)]);

    expect(Math.abs((await heardHz(ada, b.id)) - 660)).toBeLessThanOrEqual(2);
    expect(Math.abs((await heardHz(bob, a.id)) - 440)).toBeLessThanOrEqual(2);

    // The tiles are found by participant id (the forwarded stream's id) and named from signaling.
    const seen = await sfuState(ada);
    expect(seen.peers.map((p) => [p.id, p.name, p.negotiationError])).toEqual([[b.id, 'Bob', '']]);
    expect(await ada.locator(`.tile[data-peer="${b.id}"] .name`).textContent()).toBe('Bob');
    await waitForPage(ada, () => window.callpeer!.state().peers[0]!.tile!.speaking, undefined, { what: 'Bob shown speaking', debug: DEBUG_STATE });
    // One connection, to the server: Ada's stats name Bob only, and she sends her audio once.
    const st = await stats(ada);
    expect(Object.keys(st)).toEqual([b.id]);
    expect(st[b.id]!.outbound.audio!.packetsSent).toBeGreaterThan(50);

    // Mute shows on the other page (peer-updated), and chat goes over signaling as in a mesh.
    await bob.click('#btn-mic');
    await waitForPage(ada, () => !window.callpeer!.state().peers[0]!.audio, undefined, { what: 'Bob shown muted', debug: DEBUG_STATE });
    expect(await ada.locator(`.tile[data-peer="${b.id}"] .badge.mic-off`).count()).toBe(1);
    await bob.click('#btn-mic');
    await waitForPage(ada, () => window.callpeer!.state().peers[0]!.tile!.speaking, undefined, { what: 'Bob speaking again', debug: DEBUG_STATE });
    await ada.click('#btn-chat');
    await ada.fill('#chat-input', 'hello through the SFU');
    await ada.press('#chat-input', 'Enter');
    await waitForPage(bob, () => window.callpeer!.state().chat.some((l) => l.text === 'hello through the SFU' && l.name === 'Ada'), undefined, { what: 'the chat line on Bob\'s page' });
    await ada.click('#btn-people');
    await screenshot(ada, 'sfu-call');

    // Bob leaves: his tile goes; Ada keeps her server connection.
    await bob.click('#btn-leave');
    await waitForPage(ada, () => window.callpeer!.state().peers.length === 0, undefined, { what: 'Bob\'s tile removed', debug: DEBUG_STATE });
    expect(await ada.locator('.tile:not(.invite)').count()).toBe(1);
    await ada.close();
    await bob.close();
    expect([...low.pageErrors, ...high.pageErrors]).toEqual([]);
  });

  it('pages and a Node publisher (SfuAgent) hear each other, each publisher on its own tile', async () => {
    // The agent publishes first; Cleo (440 Hz) joins after it, Dan (660 Hz) after her.
    const { id: agentId, heard, stop } = await toneAgent(server.wsUrl, 'sfu-node', 880);
    try {
      const cleo = await joinCall(low, server.url, 'sfu-node', 'Cleo', { query: RAW });
      await waitForAudioFrom(cleo, agentId);
      const dan = await joinCall(high, server.url, 'sfu-node', 'Dan', { query: RAW });
      const [cleoId, danId] = [(await state(cleo)).id, (await state(dan)).id];
      await Promise.all([waitForAudioFrom(cleo, danId), waitForAudioFrom(dan, agentId), waitForAudioFrom(dan, cleoId)]);
      expect(Math.abs((await heardHz(cleo, agentId)) - 880)).toBeLessThanOrEqual(2);
      expect(Math.abs((await heardHz(cleo, danId)) - 660)).toBeLessThanOrEqual(2);
      expect(Math.abs((await heardHz(dan, agentId)) - 880)).toBeLessThanOrEqual(2);
      expect((await sfuState(cleo)).peers.map((p) => p.name).sort()).toEqual(['Dan', 'Node tone']);
      // Each publisher's figures are its own section's, keyed by participant id.
      expect(Object.keys(await stats(cleo)).sort()).toEqual([agentId, danId].sort());

      // The agent gets each page's audio as a track named by that page's participant id.
      await until(() => (heard.get(cleoId)?.length ?? 0) >= 100 && (heard.get(danId)?.length ?? 0) >= 100, 15_000, 'the agent hears both pages');
      expect([...heard.keys()].sort()).toEqual([cleoId, danId].sort());
      expect(Math.abs(frequencyOf(heard.get(cleoId)!.slice(-50)) - 440)).toBeLessThanOrEqual(2);
      expect(Math.abs(frequencyOf(heard.get(danId)!.slice(-50)) - 660)).toBeLessThanOrEqual(2);
      await screenshot(cleo, 'sfu-call-three');
      await cleo.close();
      await dan.close();
    } finally {
      await stop();
    }
    expect([...low.pageErrors, ...high.pageErrors]).toEqual([]);
  });

  it('a page without any microphone still connects (receive-only) and hears a publisher', async () => {
    const { id: agentId, heard, stop } = await toneAgent(server.wsUrl, 'sfu-listen', 500);
    try {
      const page = await low.newPage(`${server.url}/r/sfu-listen?name=Eve&raw=1`, { initScript: BLOCK_ALL });
      await waitForPage(page, () => window.callpeer?.state().phase === 'joined', undefined, { what: 'Eve to join', debug: DEBUG_STATE });
      expect((await state(page)).tracks).toEqual([]);
      await waitForAudioFrom(page, agentId);
      expect(Math.abs((await heardHz(page, agentId)) - 500)).toBeLessThanOrEqual(2);
      // Loopback is a perfect network: the per-publisher quality check runs and finds nothing to show.
      await waitForPage(page, () => window.callpeer!.state().peers[0]!.tile!.quality === 'good', undefined, { what: 'a quality verdict', debug: DEBUG_STATE });
      // Eve publishes nothing, so the agent is sent nothing.
      expect(heard.size).toBe(0);
      await page.close();
    } finally {
      await stop();
    }
    expect(low.pageErrors).toEqual([]);
  });

  it('the room header says SFU; camera and screen buttons are enabled, and the camera goes off and on', async () => {
    // Phone-sized: the room header must still fit.
    const page = await joinCall(high, server.url, 'sfu-buttons', 'Dee', { query: RAW, viewport: { width: 390, height: 844 } });
    for (const id of ['#btn-cam', '#btn-screen']) expect(await page.locator(id).isDisabled()).toBe(false);
    expect(await page.locator('#topology').isVisible()).toBe(true);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await page.locator('#topology').textContent()).toBe('SFU');
    expect((await state(page)).local.video).toBe(true);
    // The shortcut is ignored while the last camera change is still under way: press until it takes.
    for (const want of [false, true]) {
      for (let i = 0; i < 20 && (await state(page)).local.video !== want; i++) {
        await page.keyboard.press('Control+e');
        await page.waitForTimeout(500);
      }
      expect((await state(page)).local.video).toBe(want);
    }
    await screenshot(page, 'sfu-call-alone');
    await page.close();
    expect(high.pageErrors).toEqual([]);
  });
});
