/**
 * Renegotiation on the call page: both sides change their media at the same moment (glare),
 * and perfect negotiation (the lower id is polite) settles it without losing either change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { hasChromium, launchBrowser, skipNote, waitForPage, type TestBrowser } from '../helpers/browser.js';
import { BLOCK_ALL, BLOCK_CAMERA, DEBUG_STATE, state } from './call-page.js';
import { startTestServer } from '../helpers/server.js';

describe.skipIf(!hasChromium())(`call page renegotiation in Chromium${skipNote()}`, { timeout: 30_000 }, () => {
  let server: RunningServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    // A STUN server nobody runs: the pages must still hand it to RTCPeerConnection.
    server = await startTestServer({ maxMembers: 4, iceServer: ['stun:127.0.0.1:3478'] });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('two camera-less pages that start sharing their screens at once both receive the other\'s screen', async () => {
    const pages = [];
    for (const name of ['Ann', 'Ben']) {
      const page = await browser.newPage(`${server.url}/r/glare?name=${name}`, { initScript: BLOCK_CAMERA });
      await waitForPage(page, () => window.callpeer?.state().phase === 'joined', undefined, { what: `${name} joined`, debug: DEBUG_STATE });
      pages.push(page);
    }
    const [ann, ben] = pages as [typeof pages[0], typeof pages[0]];
    for (const page of pages) {
      await waitForPage(page, () => window.callpeer!.state().peers[0]?.connection === 'connected', undefined, { what: 'connected', debug: DEBUG_STATE });
    }
    // Without cameras the video transceivers are receive-only: sharing turns them on, which
    // makes both pages send an offer in the same instant.
    await Promise.all([ann.click('#btn-screen'), ben.click('#btn-screen')]);
    for (const page of pages) {
      await waitForPage(page, () => {
        const p = window.callpeer!.state().peers[0]!;
        return p.screen && p.tile!.showsVideo && p.tile!.frames > 5 && p.tile!.videoWidth > 0;
      }, undefined, { what: 'the other page\'s screen', timeoutMs: 15_000, debug: DEBUG_STATE });
    }
    for (const page of pages) {
      const peer = (await state(page)).peers[0]!;
      expect(peer.connection).toBe('connected');
      expect(peer.negotiationError).toBe('');
    }
    expect(browser.pageErrors).toEqual([]);
  });

  it('peer connections use the ICE servers from "joined"', async () => {
    const spy = `${BLOCK_ALL}
    window.pcConfigs = [];
    { const Real = window.RTCPeerConnection;
      window.RTCPeerConnection = function (config) { window.pcConfigs.push(config); return new Real(config); };
      window.RTCPeerConnection.prototype = Real.prototype; }`;
    const pages = [];
    for (const name of ['P', 'Q']) {
      const page = await browser.newPage(`${server.url}/r/ice-config?name=${name}`, { initScript: spy });
      await waitForPage(page, () => window.callpeer?.state().phase === 'joined', undefined, { what: `${name} joined` });
      pages.push(page);
    }
    for (const page of pages) {
      const configs = await waitForPage(page, () => {
        const c = (window as unknown as { pcConfigs: RTCConfiguration[] }).pcConfigs;
        return c.length > 0 && c;
      }, undefined, { what: 'a peer connection' });
      expect(configs[0]!.iceServers).toEqual([{ urls: 'stun:127.0.0.1:3478' }]);
    }
  });
});
