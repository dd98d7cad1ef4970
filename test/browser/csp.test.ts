/**
 * The pages under the server's Content-Security-Policy (src/server/security-headers.ts), in real
 * browsers: the lobby, a call between two Chromium pages and a /duo call via an invite link all
 * work with no CSP violation (no `securitypolicyviolation` event, no console line about the
 * policy), and a Firefox page joins a call with none either. Controls first show that the policy
 * is in force and that a violation would be seen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import {
  hasChromium, launchBrowser, screenshot, skipNote, toneWavFile, waitForPage, type Page, type TestBrowser,
} from '../helpers/browser.js';
import { firefoxSkipNote, hasFirefox, launchFirefox, waitForFirefox, type FirefoxPage, type TestFirefox } from '../helpers/firefox.js';
import { useTestServer } from '../helpers/server.js';
import { BLOCK_CAMERA, DEBUG_STATE, state, waitForPeersPlaying } from './call-page.js';
import { DEBUG_DUO, duoState, measureHeard, waitForPhase } from './duo-page.js';

/** What a `securitypolicyviolation` event says, as collected from the page. */
interface Violation { directive: string; blocked: string; source: string; line: number; sample: string; page: string }

declare global {
  interface Window {
    /** Chromium: a Playwright binding into the test. */
    __cspReport?: (v: Violation) => void;
    /** Firefox: collected in the page. */
    __csp?: Violation[];
  }
}

/** Page-side: reports every CSP violation of each document, from before the page's own scripts run. */
const WATCH_CSP = `(() => {
  const seen = (window.__csp = window.__csp || []);
  document.addEventListener('securitypolicyviolation', (e) => {
    const v = { directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber, sample: e.sample, page: location.href };
    seen.push(v);
    if (typeof window.__cspReport === 'function') window.__cspReport(v);
  });
})();`;

/** The Chromium pages' fake microphone: a 440 Hz tone at 0.5 of full scale (RMS 0.35). */
const TONE_HZ = 440;

const MENTIONS_CSP = /content[- ]security[- ]policy/i;

/** A Chromium context whose pages report CSP violations, CSP console lines and page errors to `found`. */
interface Watched { context: BrowserContext; found: { violations: Violation[]; console: string[]; errors: string[] } }

async function watchedContext(b: TestBrowser, origin: string): Promise<Watched> {
  const context = await b.browser.newContext({ viewport: { width: 1280, height: 720 } });
  // Granting replaces every other permission with "denied": camera and microphone too, or
  // Chromium gathers no host candidate and calls never connect.
  await context.grantPermissions(['clipboard-read', 'clipboard-write', 'camera', 'microphone'], { origin });
  const found: Watched['found'] = { violations: [], console: [], errors: [] };
  await context.exposeBinding('__cspReport', (_source, v: Violation) => { found.violations.push(v); });
  await context.addInitScript(WATCH_CSP);
  context.on('console', (m) => { if (MENTIONS_CSP.test(m.text())) found.console.push(`[${m.type()}] ${m.text()}`); });
  context.on('weberror', (e) => { found.errors.push(e.error().message); });
  return { context, found };
}

async function open(w: Watched, url: string, initScript?: string): Promise<Page> {
  const page = await w.context.newPage();
  if (initScript !== undefined) await page.addInitScript(initScript);
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  return page;
}

function joined(page: Page, who: string): Promise<true> {
  return waitForPage(page, () => window.callpeer?.state().phase === 'joined', undefined, { what: `${who} to join`, debug: DEBUG_STATE });
}

/** The bindings report asynchronously: a short wait lets a late violation arrive before asserting none. */
const settle = (ms = 300): Promise<void> => new Promise((r) => setTimeout(r, ms));

// One retry, as duo.test.ts: its /duo test measures real-time audio through the fake device.
describe.skipIf(!hasChromium())(`pages under the Content-Security-Policy in Chromium${skipNote()}`, { timeout: 40_000, retry: 1 }, () => {
  const t = useTestServer();
  let browser: TestBrowser;
  const contexts: BrowserContext[] = [];

  async function watched(): Promise<Watched> {
    const w = await watchedContext(browser, t.server.url);
    contexts.push(w.context);
    return w;
  }

  beforeAll(async () => { browser = await launchBrowser({ fakeAudioFile: toneWavFile(TONE_HZ) }); });
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    await browser?.close();
  });

  it('control: the policy is in force and a violation is seen (style attribute, inline script, frames)', async () => {
    const w = await watched();
    const page = await open(w, `${t.server.url}/`);
    await waitForPage(page, () => document.getElementById('link')?.textContent !== '', undefined, { what: 'the lobby ready' });
    const result = await page.evaluate(async () => {
      const d = document.createElement('div');
      d.id = 'csp-probe';
      d.setAttribute('style', 'display: inline-flex');
      document.body.append(d);
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true;';
      document.head.append(s);
      const frame = document.createElement('iframe');
      frame.src = '/';
      const loaded = new Promise((r) => { frame.addEventListener('load', r); setTimeout(r, 3000); });
      document.body.append(frame);
      await loaded;
      let framedLobby = false;
      try { framedLobby = frame.contentDocument?.getElementById('join-form') != null; } catch { /* an error page of another origin */ }
      return {
        display: getComputedStyle(d).display,
        inlineRan: (window as { __inlineRan?: boolean }).__inlineRan === true,
        framedLobby,
      };
    });
    expect(result).toEqual({ display: 'block', inlineRan: false, framedLobby: false });
    await waitForPage(page, () => (window.__csp ?? []).length >= 2, undefined, { what: 'the violations reported' });
    await settle();
    // default-src 'none': our pages frame nothing, not even themselves.
    expect(w.found.violations.map((v) => v.directive).sort()).toEqual(['frame-src', 'script-src-elem', 'style-src-attr']);

    // frame-ancestors 'none': a page without a policy of its own cannot frame ours either.
    const framer = await w.context.newPage();
    await framer.setContent(`<iframe src="${t.server.url}/"></iframe>`);
    await waitForPage(framer, () => document.querySelector('iframe') !== null, undefined, { what: 'the framing page' });
    await settle(1000);
    const child = framer.frames().find((f) => f !== framer.mainFrame());
    expect(child).toBeDefined();
    expect(await child!.locator('#join-form').count()).toBe(0);
    expect(w.found.console.join('\n')).toMatch(/frame-ancestors 'none'/);
  });

  it('the lobby: random name, copy link, join by the form, with no violation', async () => {
    const w = await watched();
    const page = await open(w, `${t.server.url}/`);
    const room = await waitForPage(page, () => (document.getElementById('room') as HTMLInputElement).value, undefined, { what: 'a random room name' });
    expect(await page.textContent('#link')).toBe(`${t.server.url}/r/${room}`);
    await page.click('#random');
    await page.click('#copy');
    await waitForPage(page, () => /copied/i.test(document.getElementById('room-hint')!.textContent ?? ''), undefined, { what: 'the "copied" hint' });
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${t.server.url}/r/${await page.inputValue('#room')}`);
    const sizes = await page.evaluate(() => [document.getElementById('copy')!.offsetHeight, document.getElementById('join')!.offsetHeight]);
    await page.fill('#name', 'Grace');
    await page.click('#join');
    await page.waitForURL(/\/r\/[^/]+\?name=Grace$/);
    await joined(page, 'Grace');
    await settle();
    expect(w.found).toEqual({ violations: [], console: [], errors: [] });
    // The two buttons that had style="" attributes keep their size through classes.
    expect(sizes).toEqual([30, 48]);
  });

  it('a call between two pages: video, audio, chat, settings, a banner and the invite link, with no violation', async () => {
    const room = 'csp-call';
    const w = await watched();
    const ada = await open(w, `${t.server.url}/r/${room}?name=Ada`);
    await joined(ada, 'Ada');
    // Alone: the invite card, and copying the invite link from the top bar.
    await waitForPage(ada, () => document.querySelector('.tile.invite code')?.textContent, undefined, { what: 'the invite card' });
    await ada.click('#copy-link');
    expect(await ada.evaluate(() => navigator.clipboard.readText())).toBe(`${t.server.url}/r/${room}`);

    // Bob has no camera: his page shows a banner (its icon is sized through the CSSOM).
    const bob = await open(w, `${t.server.url}/r/${room}?name=Bob`, BLOCK_CAMERA);
    await joined(bob, 'Bob');
    await waitForPeersPlaying(bob, 1);
    await waitForPage(ada, () => {
      const p = window.callpeer!.state().peers[0];
      return p?.connection === 'connected' && p.tile !== null;
    }, undefined, { what: 'Bob connected on Ada\'s page', debug: DEBUG_STATE });
    expect((await state(bob)).banners.length).toBeGreaterThan(0);
    expect(await bob.evaluate(() => getComputedStyle(document.querySelector('#banners .banner svg')!).width)).toBe('18px');

    // The sound meters run (Web Audio on the remote stream): Bob hears Ada's fake microphone.
    await waitForPage(bob, () => window.callpeer!.state().peers[0]!.level > 0, undefined, { what: 'Ada\'s level on Bob\'s page', debug: DEBUG_STATE });

    await ada.click('#btn-chat');
    await ada.fill('#chat-input', 'hello under a strict CSP');
    await ada.press('#chat-input', 'Enter');
    await waitForPage(bob, () => window.callpeer!.state().chat.some((l) => l.text === 'hello under a strict CSP'), undefined, { what: 'the chat line on Bob\'s page' });
    await ada.click('#btn-people');
    await ada.click('#btn-settings');
    await waitForPage(ada, () => !document.getElementById('settings')!.hidden && (document.getElementById('set-audioinput') as HTMLSelectElement).options.length > 0,
      undefined, { what: 'the settings dialog with devices' });
    await ada.click('#settings-form button[type=submit]');
    await ada.click('#btn-mic');
    await waitForPage(bob, () => !window.callpeer!.state().peers[0]!.audio, undefined, { what: 'Ada shown muted on Bob\'s page' });
    await ada.click('#btn-mic');
    await screenshot(ada, 'csp-call');
    await settle();
    expect(w.found).toEqual({ violations: [], console: [], errors: [] });
  });

  it('/duo: an invite link pairs two pages, each plays the other through its AudioWorklets, with no violation', async () => {
    const w = await watched();
    const inviter = await open(w, `${t.server.url}/duo?raw=1`);
    await waitForPage(inviter, () => window.duo?.state().phase === 'idle', undefined, { what: 'the duo page ready' });
    await inviter.click('#create-invite');
    const { inviteUrl } = await duoState(inviter);
    expect(inviteUrl).toMatch(new RegExp(`^${t.server.url}/duo\\?pair=`));
    await inviter.click('#copy-invite');
    expect(await inviter.evaluate(() => navigator.clipboard.readText())).toBe(inviteUrl);
    await inviter.click('#start');
    await waitForPhase(inviter, 'waiting');

    const guest = await open(w, `${inviteUrl!}&raw=1`);
    await waitForPage(guest, () => window.duo?.state().phase === 'idle', undefined, { what: 'the guest\'s duo page ready' });
    await guest.click('#start');
    await Promise.all([waitForPhase(inviter, 'connected'), waitForPhase(guest, 'connected')]);
    const [byInviter, byGuest] = await Promise.all([measureHeard(inviter), measureHeard(guest)]);
    for (const heard of [byInviter, byGuest]) {
      expect(Math.abs(heard.hz - TONE_HZ)).toBeLessThanOrEqual(2);
      expect(heard.level).toBeGreaterThan(0.3);
    }
    await waitForPage(guest, () => window.duo!.stats().framesReceived > 10, undefined, { what: 'frames received', debug: DEBUG_DUO });
    await settle();
    expect(w.found).toEqual({ violations: [], console: [], errors: [] });
  });
});

describe.skipIf(!hasFirefox() || !hasChromium())(`the call page under the Content-Security-Policy in Firefox${firefoxSkipNote()}${skipNote()}`, { timeout: 40_000 }, () => {
  const t = useTestServer();
  let firefox: TestFirefox;
  let chromium: TestBrowser;

  beforeAll(async () => {
    [firefox, chromium] = await Promise.all([launchFirefox(), launchBrowser()]);
  });
  afterAll(async () => {
    await firefox?.close();
    await chromium?.close();
  });

  /**
   * A Firefox page watched from its first script on. Firefox reports a CSP violation in the
   * console as a page error ("Content-Security-Policy: The page's settings blocked …"), so
   * console lines and page errors are both collected in `errors`.
   */
  async function foxPage(url: string): Promise<{ page: FirefoxPage; errors: string[] }> {
    const errors: string[] = [];
    const page = await firefox.browser.newPage();
    await page.setViewport({ width: 1280, height: 720 });
    await page.evaluateOnNewDocument(WATCH_CSP);
    page.on('console', (m) => { if (m.type() === 'error' || MENTIONS_CSP.test(m.text())) errors.push(`[${m.type()}] ${m.text()}`); });
    page.on('pageerror', (err) => errors.push(err instanceof Error ? err.message : String(err)));
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    return { page, errors };
  }

  it('joins a call with a Chromium page and plays its video, with no violation; a style attribute is refused', async () => {
    const room = 'csp-firefox';
    const ada = await chromium.newPage(`${t.server.url}/r/${room}?name=Ada`);
    await joined(ada, 'Ada');
    const { page: fox, errors } = await foxPage(`${t.server.url}/r/${room}?name=Fox`);
    await waitForFirefox(fox, () => window.callpeer?.state().phase === 'joined', undefined, { what: 'Fox to join', debug: DEBUG_STATE });
    await waitForFirefox(fox, () => {
      const p = window.callpeer!.state().peers[0];
      return p?.connection === 'connected' && p.tile !== null && p.tile.frames > 10 && p.tile.videoWidth > 0;
    }, undefined, { timeoutMs: 15_000, what: 'Ada\'s video playing on Fox\'s page', debug: DEBUG_STATE });
    await settle();
    expect(await fox.evaluate(() => window.__csp)).toEqual([]);
    expect(errors).toEqual([]);

    // Control: the policy is in force in Firefox and both watchers see a violation.
    await fox.evaluate(() => { document.body.setAttribute('style', 'outline: 1px solid red'); });
    await waitForFirefox(fox, () => (window.__csp ?? []).length > 0, undefined, { what: 'the control violation' });
    expect((await fox.evaluate(() => window.__csp!)).map((v) => v.directive)).toEqual(['style-src-attr']);
    await settle();
    expect(errors.join('\n')).toMatch(MENTIONS_CSP);
    await fox.close();
    await ada.context().close();
  });

  it('/duo loads its AudioWorklet modules with no violation', async () => {
    const { page: fox, errors } = await foxPage(`${t.server.url}/duo`);
    await waitForFirefox(fox, () => window.duo?.state().phase === 'idle', undefined, { what: 'the duo page ready', debug: DEBUG_DUO });
    const loaded = await fox.evaluate(async () => {
      const ctx = new AudioContext();
      await ctx.audioWorklet.addModule('/duo/capture-worklet.js');
      await ctx.audioWorklet.addModule('/duo/playback-worklet.js');
      await ctx.close();
      return true;
    });
    expect(loaded).toBe(true);
    await settle();
    expect(await fox.evaluate(() => window.__csp)).toEqual([]);
    expect(errors).toEqual([]);
    await fox.close();
  });
});
