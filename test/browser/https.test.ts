/**
 * The call page over HTTPS (a `callpeer certs` certificate): the page picks wss:// for
 * signaling by itself, and two pages connect. Phones need this: no camera without a secure origin.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { generateDevCertificate } from '../../src/server/certs.js';
import { hasChromium, launchBrowser, skipNote, waitForPage, type Page, type TestBrowser } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';
import { DEBUG_STATE, waitForPeersPlaying } from './call-page.js';

describe.skipIf(!hasChromium())(`call page over HTTPS${skipNote()}`, { timeout: 30_000 }, () => {
  let server: RunningServer;
  let browser: TestBrowser;

  beforeAll(async () => {
    const cert = await generateDevCertificate({ outDir: mkdtempSync(path.join(os.tmpdir(), 'callpeer-https-')) });
    server = await startTestServer({ maxMembers: 2, cert: cert.certFile, key: cert.keyFile });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('two pages join over wss:// and see each other', async () => {
    expect(server.url).toMatch(/^https:\/\//);
    const pages: Page[] = [];
    for (const name of ['Ada', 'Bo']) {
      const page = await browser.newPage(`${server.url}/r/secure?name=${name}`, { ignoreHttpsErrors: true });
      await waitForPage(page, () => window.callpeer?.state().phase === 'joined', undefined, { what: `${name} joined`, debug: DEBUG_STATE });
      pages.push(page);
    }
    await Promise.all(pages.map((p) => waitForPeersPlaying(p, 1)));
    // Joined at all means signaling went over wss://: the TLS port speaks nothing else.
    expect(await pages[0]!.evaluate(() => location.protocol)).toBe('https:');
  });
});
