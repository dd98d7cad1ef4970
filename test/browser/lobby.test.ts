/**
 * The lobby (/) and the call page's name prompt in real Chromium: room names are checked in
 * plain words, a valid one leads to /r/<room>, and a page without ?name asks for one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { hasChromium, launchBrowser, screenshot, skipNote, waitForPage, type TestBrowser } from '../helpers/browser.js';
import { DEBUG_STATE, state } from './call-page.js';
import { startTestServer } from '../helpers/server.js';

describe.skipIf(!hasChromium())(`lobby in Chromium${skipNote()}`, { timeout: 30_000 }, () => {
  let server: RunningServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    server = await startTestServer({ maxMembers: 4 });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('offers a readable random room name and shows its link', async () => {
    const page = await browser.newPage(`${server.url}/`);
    const name = await page.inputValue('#room');
    expect(name).toMatch(/^[a-z]+-[a-z]+-\d{2}$/);
    expect(await page.textContent('#link')).toBe(`${server.url}/r/${name}`);
    await page.click('#random');
    expect(await page.inputValue('#room')).not.toBe('');
    await page.fill('#name', 'Grace');
    await screenshot(page, 'lobby');

    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await page.click('#copy');
    await waitForPage(page, () => /copied/i.test(document.getElementById('room-hint')!.textContent ?? ''), undefined, { what: 'the "copied" hint' });
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(`${server.url}/r/${await page.inputValue('#room')}`);
    await page.close();
  });

  it('refuses a room name with spaces in plain words and stays on the lobby', async () => {
    const page = await browser.newPage(`${server.url}/`, { viewport: { width: 390, height: 844 } });
    await page.fill('#room', 'team standup!');
    await page.click('#join');
    expect(await page.textContent('#room-hint')).toMatch(/letters, digits/);
    expect(new URL(page.url()).pathname).toBe('/');
    await screenshot(page, 'lobby-phone-invalid');
    await page.close();
  });

  it('joins the typed room with the typed name', async () => {
    const page = await browser.newPage(`${server.url}/`);
    await page.fill('#room', 'design_review-2');
    await page.fill('#name', 'Grace Hopper');
    await page.click('#join');
    await page.waitForURL(/\/r\/design_review-2\?name=Grace/);
    await waitForPage(page, () => window.callpeer?.state().phase === 'joined', undefined, { what: 'joined', debug: DEBUG_STATE });
    const st = await state(page);
    expect(st).toMatchObject({ room: 'design_review-2', name: 'Grace Hopper' });
    expect((await server.rooms.list()).map((r) => r.id)).toContain('design_review-2');

    // Back in the lobby, the room is one click away.
    await page.goto(`${server.url}/`);
    await page.click('#recent .chip');
    expect(await page.inputValue('#room')).toBe('design_review-2');
    await page.close();
  });

  it('a call link without a name asks for one first, with a camera preview', async () => {
    const page = await browser.newPage(`${server.url}/r/ask-me`);
    await waitForPage(page, () => !document.getElementById('prejoin')!.hidden, undefined, { what: 'the name prompt' });
    expect((await state(page)).phase).toBe('prejoin');
    await waitForPage(page, () => (document.getElementById('preview') as HTMLVideoElement).videoWidth > 0, undefined, { what: 'the preview' });
    await page.fill('#prejoin-name', 'Linus');
    await screenshot(page, 'call-prejoin');
    // Muted before joining: the room learns it with the join.
    await page.click('#pre-mic');
    expect(await page.getAttribute('#pre-mic', 'class')).toContain('off');
    await page.click('#prejoin-join');
    await waitForPage(page, () => window.callpeer?.state().phase === 'joined', undefined, { what: 'joined', debug: DEBUG_STATE });
    const st = await state(page);
    expect(st).toMatchObject({ name: 'Linus', local: { audio: false, video: true } });
    expect((await server.rooms.list()).find((r) => r.id === 'ask-me')?.participants[0]).toMatchObject({ name: 'Linus', audio: false, video: true });
    expect(await page.getAttribute('#btn-mic', 'class')).toContain('off');
    expect(browser.pageErrors).toEqual([]);
    await page.close();
  });
});
