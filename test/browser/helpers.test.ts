/**
 * The Chromium harness's page wait (test/helpers/browser.ts waitForPage): it must await a
 * predicate's Promise (Playwright's waitForFunction does not), keep sync predicates working,
 * and end with its TIMEOUT error even when the page never answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCallpeerError } from '../../src/errors.js';
import { hasChromium, launchBrowser, skipNote, waitForPage, type Page, type TestBrowser } from '../helpers/browser.js';

declare global {
  interface Window {
    testFlag?: boolean;
    testCount?: number;
  }
}

/** How long `run` took, ms, and what it settled with. */
async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const start = Date.now();
  const [result] = await Promise.allSettled([run()]);
  return { ms: Date.now() - start, result: result! };
}

function timeoutCode(result: PromiseSettledResult<unknown>): string | undefined {
  return result.status === 'rejected' && isCallpeerError(result.reason) ? result.reason.code : undefined;
}

describe.skipIf(!hasChromium())(`waitForPage in Chromium${skipNote()}`, () => {
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchBrowser();
    page = await browser.newPage('about:blank');
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('an async predicate that resolves false waits the whole timeout, then fails with TIMEOUT', async () => {
    const { ms, result } = await timed(() => waitForPage(page, () => Promise.resolve(false), undefined, { timeoutMs: 600, what: 'never' }));
    expect(timeoutCode(result)).toBe('TIMEOUT');
    expect(ms).toBeGreaterThanOrEqual(500);
  });

  it('an async predicate that turns true after a delay is waited for, and its value returned', async () => {
    await page.evaluate(() => {
      window.testFlag = false;
      setTimeout(() => { window.testFlag = true; }, 400);
    });
    const { ms, result } = await timed(() => waitForPage(page, async () => {
      await new Promise((r) => setTimeout(r, 10));
      return window.testFlag === true && 'ready';
    }, undefined, { timeoutMs: 5_000 }));
    expect(result).toEqual({ status: 'fulfilled', value: 'ready' });
    expect(ms).toBeGreaterThanOrEqual(350);
  });

  it('a sync predicate with an argument still works', async () => {
    await page.evaluate(() => {
      window.testCount = 0;
      const tick = setInterval(() => { if (++window.testCount! >= 5) clearInterval(tick); }, 50);
    });
    const value = await waitForPage(page, (n) => (window.testCount! >= n ? window.testCount : 0), 5, { timeoutMs: 5_000 });
    expect(value).toBe(5);
  });

  it('a predicate whose Promise never settles still ends at the timeout', async () => {
    const { ms, result } = await timed(() => waitForPage(page, () => new Promise<boolean>(() => {}), undefined, { timeoutMs: 400 }));
    expect(timeoutCode(result)).toBe('TIMEOUT');
    expect(ms).toBeLessThan(2_000);
  });

  it('a predicate that throws until the page is ready is tried again', async () => {
    await page.evaluate(() => {
      delete window.testFlag;
      setTimeout(() => { window.testFlag = true; }, 300);
    });
    const value = await waitForPage(page, () => {
      if (window.testFlag === undefined) throw new Error('not ready');
      return window.testFlag;
    }, undefined, { timeoutMs: 5_000 });
    expect(value).toBe(true);
  });
});
