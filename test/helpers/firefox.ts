/**
 * Real-Firefox test harness: Debian's Firefox ESR driven by puppeteer-core over WebDriver BiDi
 * (built into Firefox, so no geckodriver and no downloaded browser), with fake camera and
 * microphone and WebRTC kept on loopback. The Firefox twin of ./browser.ts.
 *
 *   describe.skipIf(!hasFirefox())(`call page in Firefox${firefoxSkipNote()}`, () => { ... })
 *   const fx = await launchFirefox();
 *   const page = await fx.newPage(`${server.url}/r/room?name=Fox`);
 *   await waitForFirefox(page, () => window.callpeer?.state().phase === 'joined');
 *   await fx.close();
 */
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { artifactPng, browserBinary, describedWait, type Truthy, type WaitOptions } from './browser.js';

export type { Browser as FirefoxBrowser, Page as FirefoxPage };

const FIREFOX = browserBinary('Firefox', '/usr/bin/firefox-esr', 'firefox-esr', 'CALLPEER_FIREFOX');
/** Where Firefox is looked for; CALLPEER_FIREFOX overrides. */
export const FIREFOX_PATH = FIREFOX.path;
export const FIREFOX_SKIP_REASON = FIREFOX.skipReason;
export const hasFirefox = FIREFOX.available;
export const firefoxSkipNote = FIREFOX.skipNote;

/**
 * Prefs every test Firefox gets (on top of puppeteer's own automation prefs): fake devices
 * without a prompt, host candidates on loopback, no mDNS names, autoplay, and no background
 * traffic (updates, telemetry, captive portal, safe browsing, IPv6 lookups).
 */
export const FIREFOX_PREFS: Readonly<Record<string, unknown>> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // Without these two Firefox gathers no loopback candidate, or hides it behind an mDNS name.
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // Firefox offers only the "default route" address unless the page holds a camera or microphone
  // permission, and fake devices without a prompt do not count: in a loopback-only namespace
  // there is no default route, so no candidate at all (nICEr: "failed to find default addresses").
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  // No sound device here: with the real backend every AudioContext stays 'suspended' and Web
  // Audio never runs (no meters, no recorded samples). The mock backend clocks it in real time.
  'media.cubeb.force_mock_context': true,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  'network.dns.disableIPv6': true,
  'app.update.enabled': false,
  'app.update.auto': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.safebrowsing.blockedURIs.enabled': false,
};

export interface FirefoxLaunchOptions {
  /** Extra prefs, over FIREFOX_PREFS. */
  prefs?: Record<string, unknown>;
  /** Page console lines are forwarded to this (default: dropped). */
  onConsole?: (line: string) => void;
}

export interface TestFirefox {
  readonly browser: Browser;
  /** A page navigated to `url` (default viewport 1280x720). */
  newPage(url: string, options?: { viewport?: { width: number; height: number } }): Promise<Page>;
  /** Page errors (uncaught exceptions) seen so far, for assertions. */
  readonly pageErrors: string[];
  /** Closes every page and the browser. Safe to call twice. */
  close(): Promise<void>;
}

export async function launchFirefox(options: FirefoxLaunchOptions = {}): Promise<TestFirefox> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: FIREFOX_PATH,
    headless: process.env.CALLPEER_HEADFUL !== '1',
    extraPrefsFirefox: { ...FIREFOX_PREFS, ...options.prefs },
  });
  const pageErrors: string[] = [];
  let closed = false;
  return {
    browser,
    pageErrors,
    async newPage(url, pageOptions = {}) {
      const page = await browser.newPage();
      await page.setViewport(pageOptions.viewport ?? { width: 1280, height: 720 });
      page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err instanceof Error ? err.message : String(err)}`));
      if (options.onConsole) {
        const forward = options.onConsole;
        page.on('console', (m) => forward(`[${m.type()}] ${m.text()}`));
      }
      // Not 'load': a page that holds a live call may never settle.
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      return page;
    },
    async close() {
      if (closed) return;
      closed = true;
      await browser.close();
    },
  };
}

/**
 * Waits until `predicate` (run in the page) returns a truthy value and returns that value;
 * on timeout the error names `what` and adds the page-side `debug` value (as waitForPage does).
 */
export function waitForFirefox<T, A = undefined>(
  page: Page,
  predicate: (arg: A) => T | Promise<T>,
  arg?: A,
  options: WaitOptions = {},
): Promise<Truthy<T>> {
  return describedWait(
    async (timeout) => (await (await page.waitForFunction(predicate as (a: unknown) => T | Promise<T>, { timeout, polling: 100 }, arg)).jsonValue()) as Truthy<T>,
    (expression) => page.evaluate(expression),
    options,
  );
}

/** Saves a full-page PNG to test-artifacts/<name>.png and returns its path. */
export async function screenshotFirefox(page: Page, name: string): Promise<string> {
  const file = artifactPng(name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
