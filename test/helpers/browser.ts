/**
 * Real-Chromium test harness: Debian's Chromium through playwright-core, with fake camera,
 * microphone and screen, kept on loopback (see shared/TESTING.md). Generic on purpose: the
 * call page, /duo and "a page hears a bot" tests all use it.
 *
 *   describe.skipIf(!hasChromium())(`call page${skipNote()}`, () => { ... })
 *   const b = await launchBrowser({ fakeAudioFile: '/abs/tone.wav' });
 *   const page = await b.newPage(`${server.url}/r/room?name=Ada`);
 *   await waitForPage(page, () => window.callpeer?.state().phase === 'joined');
 *   await screenshot(page, 'call-joined');
 *   await b.close();
 */
import { accessSync, constants, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CallpeerError } from '../../src/errors.js';
import { ToneGenerator } from '../../src/media/tone.js';
import { encodeWav } from '../../src/media/wav.js';

export type { Browser, BrowserContext, Page };

/** Screenshots and other files tests leave for people to look at (git-ignored). */
export const ARTIFACTS_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'test-artifacts');

/** test-artifacts/<name>.png, its folder made. */
export function artifactPng(name: string): `${string}.png` {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return path.join(ARTIFACTS_DIR, `${name}.png`) as `${string}.png`;
}

/** A browser the tests drive: where it is, whether it is there, and how to get it. */
export interface BrowserBinary {
  readonly path: string;
  /** Why its tests are skipped when it is missing (shown in the suite name). */
  readonly skipReason: string;
  available(): boolean;
  /** Appended to a suite name so a skipped run says how to get the browser; empty when it is there. */
  skipNote(): string;
}

export function browserBinary(name: string, defaultPath: string, debianPackage: string, envVar: string): BrowserBinary {
  const file = process.env[envVar] ?? defaultPath;
  const skipReason = `${name} not found at ${file}: install it with \`apt-get install -y ${debianPackage}\` (or set ${envVar})`;
  const available = (): boolean => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  return { path: file, skipReason, available, skipNote: () => (available() ? '' : ` (skipped: ${skipReason})`) };
}

const CHROMIUM = browserBinary('Chromium', '/usr/bin/chromium', 'chromium', 'CALLPEER_CHROMIUM');
/** Where Chromium is looked for; CALLPEER_CHROMIUM overrides. */
export const CHROMIUM_PATH = CHROMIUM.path;
export const CHROMIUM_SKIP_REASON = CHROMIUM.skipReason;
export const hasChromium = CHROMIUM.available;
export const skipNote = CHROMIUM.skipNote;

/** The flags every test browser gets: no sandbox/GPU/background traffic, fake media, loopback ICE. */
export const BASE_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  // Pages that play remote audio without a click (tests never click "enable sound").
  '--autoplay-policy=no-user-gesture-required',
  // getDisplayMedia picks the fake screen without a picker.
  '--auto-select-desktop-capture-source=Entire screen',
];

export interface LaunchOptions {
  /** Absolute path of a 16-bit PCM or float WAV the fake microphone plays (loops; add `%noloop` to play once). */
  fakeAudioFile?: string;
  /** Extra Chromium flags. */
  args?: string[];
  /** Default true; CALLPEER_HEADFUL=1 shows the window when a display exists. */
  headless?: boolean;
  /** Browser-side page console lines are forwarded to this (default: dropped). */
  onConsole?: (line: string) => void;
}

export interface NewPageOptions {
  /** Viewport, default 1280x720. */
  viewport?: { width: number; height: number };
  /** Page-side errors are collected in `pageErrors` by default; set false to ignore them. */
  failOnPageError?: boolean;
  /** Script run in the page before its own scripts (e.g. to make getUserMedia refuse the camera). */
  initScript?: string;
  /** Accept a self-signed certificate (an HTTPS server from `callpeer certs`). */
  ignoreHttpsErrors?: boolean;
  /** Runs before the page is navigated (e.g. `page.routeWebSocket`). */
  beforeNavigate?: (page: Page) => Promise<void>;
}

export interface TestBrowser {
  readonly browser: Browser;
  /** A page in a fresh context (own storage and permissions), navigated to `url`. */
  newPage(url: string, options?: NewPageOptions): Promise<Page>;
  /** Page errors (uncaught exceptions) seen so far, for assertions. */
  readonly pageErrors: string[];
  /** Closes every page and the browser. Safe to call twice. */
  close(): Promise<void>;
}

export async function launchBrowser(options: LaunchOptions = {}): Promise<TestBrowser> {
  const args = [...BASE_ARGS, ...(options.args ?? [])];
  if (options.fakeAudioFile !== undefined) args.push(`--use-file-for-fake-audio-capture=${options.fakeAudioFile}`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: options.headless ?? process.env.CALLPEER_HEADFUL !== '1',
    args,
  });
  const pageErrors: string[] = [];
  let closed = false;
  return {
    browser,
    pageErrors,
    async newPage(url, pageOptions = {}) {
      const context = await browser.newContext({
        viewport: pageOptions.viewport ?? { width: 1280, height: 720 },
        ignoreHTTPSErrors: pageOptions.ignoreHttpsErrors ?? false,
      });
      if (pageOptions.initScript !== undefined) await context.addInitScript(pageOptions.initScript);
      const page = await context.newPage();
      page.on('pageerror', (err) => {
        if (pageOptions.failOnPageError !== false) pageErrors.push(`${page.url()}: ${err.message}`);
      });
      if (options.onConsole) {
        const forward = options.onConsole;
        page.on('console', (m) => forward(`[${m.type()}] ${m.text()}`));
      }
      await pageOptions.beforeNavigate?.(page);
      // Not 'load': a page that holds a live call may never be "loaded" in Playwright's sense.
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

/** What a wait for a truthy value resolves with. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

export interface WaitOptions {
  /** Default 10000 ms. */
  timeoutMs?: number;
  /** Said in the error when the wait times out. */
  what?: string;
  /** Page-side expression whose value is added to the timeout error (e.g. a state dump). */
  debug?: string;
}

/**
 * Runs a page-side wait (`wait(timeoutMs)`); when it fails, throws a CallpeerError `TIMEOUT`
 * naming `what` and, if given, the page-side `debug` value read with `evaluate`. Shared by the
 * Chromium and Firefox harnesses, whose drivers differ only in how they take the wait's arguments.
 */
export async function describedWait<T>(
  wait: (timeoutMs: number) => Promise<T>,
  evaluate: (expression: string) => Promise<unknown>,
  options: WaitOptions,
): Promise<T> {
  const timeout = options.timeoutMs ?? 10_000;
  try {
    return await wait(timeout);
  } catch (err) {
    const detail = options.debug === undefined ? '' : await evaluate(options.debug).then((v) => `\npage state: ${JSON.stringify(v)}`, () => '');
    throw new CallpeerError('TIMEOUT', `timed out after ${timeout} ms waiting for ${options.what ?? 'a page condition'}${detail}`, { cause: err });
  }
}

const POLL_MS = 100;

/**
 * Waits until `predicate` (run in the page) returns, or resolves to, a truthy value and returns
 * that value. Times out with a CallpeerError `TIMEOUT` naming `what` and, if given, the
 * page-side `debug` value.
 *
 * Polled with `evaluate`, not Playwright's `waitForFunction`: that one does not await a Promise
 * the predicate returns, so an async predicate (e.g. a getStats check) ended the wait at once.
 * A predicate that throws (state not there yet, or the page navigating) is tried again; the
 * last error is the timeout's cause. One evaluation that never settles still ends at the timeout.
 */
export function waitForPage<T, A = undefined>(
  page: Page,
  predicate: (arg: A) => T | Promise<T>,
  arg?: A,
  options: WaitOptions = {},
): Promise<Truthy<T>> {
  // `arg` crosses to the page as JSON; Playwright's typing of that (Unboxed<A>) is looser than A.
  const fn = predicate as (a: unknown) => T | Promise<T>;
  return describedWait(
    async (timeout) => {
      const deadline = Date.now() + timeout;
      let lastError: unknown = new Error(`still falsy after ${timeout} ms`);
      for (;;) {
        const outcome = await withDeadline(page.evaluate(fn, arg as unknown), deadline);
        if (outcome.kind === 'value' && outcome.value) return outcome.value as Truthy<T>;
        if (outcome.kind === 'late') throw new Error('the predicate had not settled at the deadline');
        if (outcome.kind === 'error') lastError = outcome.error;
        if (Date.now() + POLL_MS > deadline) throw lastError;
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    },
    (expression) => page.evaluate(expression),
    options,
  );
}

type Outcome<T> = { kind: 'value'; value: T } | { kind: 'error'; error: unknown } | { kind: 'late' };

/** How `attempt` settles, or 'late' at `deadline` (its later rejection is then ignored, not unhandled). */
function withDeadline<T>(attempt: Promise<T>, deadline: number): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Outcome<T>>((resolve) => { timer = setTimeout(() => resolve({ kind: 'late' }), Math.max(0, deadline - Date.now())); });
  const settled = attempt.then((value): Outcome<T> => ({ kind: 'value', value }), (error: unknown): Outcome<T> => ({ kind: 'error', error }));
  return Promise.race([settled, late]).finally(() => clearTimeout(timer));
}

/** Saves a full-page PNG to test-artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const file = artifactPng(name);
  // Transitions finished at once, so a button clicked just before shows its final state.
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
  return file;
}

/**
 * Writes a 16-bit mono 48 kHz WAV of a sine tone to a temp folder and returns its absolute
 * path, for `launchBrowser({ fakeAudioFile })`. The fake microphone loops it. Pages should ask
 * for audio without processing (the call page: `?raw=1`), or the tone fades in 2-3 s.
 */
export function toneWavFile(frequencyHz: number, seconds = 5, amplitude = 0.5): string {
  const rate = 48_000;
  const samples = new ToneGenerator(frequencyHz, rate, amplitude).next(rate * seconds);
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'callpeer-tone-')), `tone-${frequencyHz}.wav`);
  writeFileSync(file, encodeWav(samples, rate));
  return file;
}

/** Page-side float samples (-1..1) as Int16, for src/media/analysis.ts (rms, dominantFrequency). */
export function floatToInt16(samples: readonly number[]): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32767)));
  return out;
}
