/**
 * The call page when things go wrong: a full room, blocked devices, the server going away
 * and coming back on the same port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { hasChromium, launchBrowser, screenshot, skipNote, waitForPage, type TestBrowser } from '../helpers/browser.js';
import { BLOCK_ALL, BLOCK_CAMERA, DEBUG_STATE, NO_PATH, joinCall, state, stats, waitForPeersPlaying } from './call-page.js';
import { Probe, startTestServer } from '../helpers/server.js';

describe.skipIf(!hasChromium())(`call page failures in Chromium${skipNote()}`, { timeout: 30_000 }, () => {
  let server: RunningServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    server = await startTestServer({ maxMembers: 3 });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('a fourth page in a room of three is told, in plain words, that the room is full', async () => {
    // Receive-only members are enough to fill a room, and cost no encoding.
    const members = [];
    for (const name of ['A', 'B', 'C']) {
      const page = await browser.newPage(`${server.url}/r/full-room?name=${name}`, { initScript: BLOCK_ALL });
      await waitForPage(page, () => window.callpeer?.state().phase === 'joined', undefined, { what: `${name} joined` });
      members.push(page);
    }
    const c = await browser.newPage(`${server.url}/r/full-room?name=D`, { viewport: { width: 390, height: 844 } });
    await waitForPage(c, () => window.callpeer?.state().phase === 'full', undefined, { what: 'the room-full state', debug: DEBUG_STATE });
    expect((await state(c)).error?.code).toBe('ROOM_FULL');
    expect(await c.locator('#notice').isVisible()).toBe(true);
    expect(await c.locator('#notice-title').textContent()).toMatch(/full/i);
    await screenshot(c, 'call-room-full-phone');
    await Promise.all([...members, c].map((p) => p.close()));
  });

  it('a blocked camera joins with the microphone; blocked devices join receive-only and still get media', async () => {
    const cam = await browser.newPage(`${server.url}/r/blocked?name=NoCam`, { initScript: BLOCK_CAMERA });
    await waitForPage(cam, () => window.callpeer?.state().phase === 'joined', undefined, { what: 'join without camera', debug: DEBUG_STATE });
    const none = await browser.newPage(`${server.url}/r/blocked?name=Viewer`, { initScript: BLOCK_ALL });
    await waitForPage(none, () => window.callpeer?.state().phase === 'joined', undefined, { what: 'join without devices', debug: DEBUG_STATE });

    const camState = await state(cam);
    expect(camState.devices).toMatchObject({ audio: true, video: false });
    expect(camState.banners.join(' ')).toMatch(/camera/i);
    expect((await state(none)).devices).toMatchObject({ audio: false, video: false });

    // The receive-only page hears the audio-only one; its tile shows an avatar, not video.
    await waitForPage(none, () => {
      const p = window.callpeer!.state().peers[0];
      return p !== undefined && p.connection === 'connected' && p.tile!.showsVideo === false;
    }, undefined, { what: 'the audio-only peer connected', debug: DEBUG_STATE });
    const first = Object.values(await stats(none))[0]!.inbound.audio?.packetsReceived ?? 0;
    await waitForPage(none, (n) => window.callpeer!.stats().then((s) => (Object.values(s)[0]?.inbound.audio?.packetsReceived ?? 0) > n + 20),
      first, { what: 'audio packets arriving at the receive-only page' });
    expect(await cam.locator('#btn-cam').isDisabled()).toBe(true);
    await screenshot(cam, 'call-no-camera');

    // Without a camera there is no video sender: sharing the screen adds one and renegotiates.
    await cam.click('#btn-screen');
    await waitForPage(none, () => {
      const p = window.callpeer!.state().peers[0]!;
      return p.screen && p.tile!.showsVideo && p.tile!.frames > 5 && p.tile!.videoWidth > 0;
    }, undefined, { what: 'the screen of the camera-less page', timeoutMs: 15_000, debug: DEBUG_STATE });
    await Promise.all([cam.close(), none.close()]);
  });

  it('a peer that cannot be reached gets a plain message with a TURN hint', async () => {
    const a = await browser.newPage(`${server.url}/r/no-path?name=A`, { initScript: NO_PATH });
    await waitForPage(a, () => window.callpeer?.state().phase === 'joined', undefined, { what: 'A joined' });
    const b = await browser.newPage(`${server.url}/r/no-path?name=B`, { initScript: NO_PATH });
    await waitForPage(b, () => window.callpeer!.state().banners.some((t) => t.includes('TURN')), undefined, { what: 'the TURN hint', debug: DEBUG_STATE });
    expect((await state(b)).peers[0]!.tile!.status).toBe('Cannot connect');
    await screenshot(b, 'call-ice-failed');
    await Promise.all([a.close(), b.close()]);
  });

  it('a recorder in the room shows the recording badge and a tile without video', async () => {
    const page = await joinCall(browser, server.url, 'recorded', 'Host');
    const recorder = await Probe.open(server.wsUrl);
    await recorder.join('recorded', { name: 'Recorder', role: 'recorder' });
    await waitForPage(page, () => {
      const st = window.callpeer!.state();
      return st.recording && st.peers[0]?.role === 'recorder' && st.peers[0].tile?.showsVideo === false;
    }, undefined, { what: 'the recording badge', debug: DEBUG_STATE });
    expect(await page.locator('#recording').isVisible()).toBe(true);
    await screenshot(page, 'call-recording');
    recorder.close();
    await waitForPage(page, () => !window.callpeer!.state().recording, undefined, { what: 'the badge gone' });
    await page.close();
  });

  it('when the server goes away the pages show it, re-join the restarted server, and drop who left meanwhile', async () => {
    const a = await joinCall(browser, server.url, 'comeback', 'A');
    const b = await joinCall(browser, server.url, 'comeback', 'B');
    const viewer = await browser.newPage(`${server.url}/r/comeback?name=Viewer`, { initScript: BLOCK_ALL });
    for (const page of [a, b]) {
      await waitForPage(page, () => {
        const peers = window.callpeer!.state().peers;
        return peers.length === 2 && peers.every((p) => p.connection === 'connected');
      }, undefined, { what: 'three people connected', debug: DEBUG_STATE });
    }
    const oldIds = [(await state(a)).id, (await state(b)).id];

    const port = server.port;
    await server.close();
    await waitForPage(a, () => window.callpeer!.state().phase === 'reconnecting', undefined, { what: 'the reconnecting state', debug: DEBUG_STATE });
    const down = await state(a);
    expect(down.banners.join(' ')).toMatch(/reconnecting/i);
    await screenshot(a, 'call-reconnecting');
    // The viewer leaves while the server is away: nobody can be told.
    await viewer.close();

    server = await startTestServer({ maxMembers: 3, port });
    // Old peer connections keep playing while the server is away; wait for the new session.
    for (const page of [a, b]) {
      await waitForPage(page, (old) => {
        const st = window.callpeer!.state();
        return st.phase === 'joined' && !old.includes(st.id);
      }, oldIds, { what: 're-joined with a new id', timeoutMs: 15_000, debug: DEBUG_STATE });
    }
    await Promise.all([waitForPeersPlaying(a, 1, 20_000), waitForPeersPlaying(b, 1, 20_000)]);
    const up = await state(a);
    expect(up.phase).toBe('joined');
    expect(oldIds).not.toContain(up.id);
    expect(up.peers.map((p) => p.name)).toEqual(['B']);
    expect(await a.locator('.tile').count()).toBe(2); // A and B: the viewer's tile is gone
    expect(up.banners).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
  });
});
