/**
 * `callpeer pcm` (the built CLI) and a /duo page pair by invite code: the page hears the CLI's
 * tone, and the CLI records the page's. The page speaks Opus and the CLI 16 kHz PCM, so the
 * server transcodes and resamples both ways.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dominantFrequency, rms } from '../../src/media/analysis.js';
import { parseWav } from '../../src/media/wav.js';
import { hasChromium, launchBrowser, skipNote, toneWavFile, waitForPage, type TestBrowser } from '../helpers/browser.js';
import { BIN, startCli } from '../helpers/cli.js';
import { useTestServer } from '../helpers/server.js';
import { DEBUG_DUO, duoState, measureHeard, openDuo, waitForPhase } from './duo-page.js';

const BUILT = existsSync(path.resolve(path.dirname(BIN), '../dist/cli/pcm.js'));
const PAGE_HZ = 440;
const CLI_HZ = 1000;

describe.skipIf(!hasChromium() || !BUILT)(`callpeer pcm with a /duo page${skipNote()}${BUILT ? '' : ' (skipped: run `npm run build` first)'}`, { timeout: 40_000 }, () => {
  const ctx = useTestServer();
  let browser: TestBrowser;

  beforeAll(async () => { browser = await launchBrowser({ fakeAudioFile: toneWavFile(PAGE_HZ) }); });
  afterAll(async () => { await browser?.close(); });

  it('pairs through a /duo invite link; each side hears the other\'s tone', async () => {
    const page = await openDuo(browser, ctx.server.url, { codec: 'opus', pair: 'cli-duo' });
    await waitForPhase(page, 'waiting');
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'callpeer-duo-cli-')), 'heard.wav');
    // The CLI is given the invite link itself: it takes the pair code from it.
    const cli = await startCli(
      ['pcm', `${ctx.server.url}/duo?pair=cli-duo`, '--codec', 'pcm', '--rate', '16000', '--tone', String(CLI_HZ), '--record', out, '--duration', '4'],
      /connected/,
    );
    expect(cli.output()).toContain('connected: receiving pcm 16000 Hz mono, 20 ms frames');
    await waitForPhase(page, 'connected');
    expect((await duoState(page)).receiving).toEqual({ codec: 'opus', sampleRate: 48000 });
    const heard = await measureHeard(page);
    expect(Math.abs(heard.hz - CLI_HZ)).toBeLessThanOrEqual(2);

    const result = await cli.exited;
    expect(result.code).toBe(0);
    const wav = parseWav(readFileSync(out));
    expect(wav.sampleRate).toBe(16_000);
    const lastSecond = wav.samples.subarray(wav.samples.length - 16_000);
    expect(Math.abs(dominantFrequency(lastSecond, 16_000) - PAGE_HZ)).toBeLessThanOrEqual(2);
    expect(rms(lastSecond)).toBeGreaterThan(0.25);

    // The CLI ended its session: the page says so and waits again.
    await waitForPage(page, () => window.duo!.state().partnerLeft, undefined, { what: 'partner left after the CLI ended', debug: DEBUG_DUO });
    expect((await duoState(page)).status).toBe('Partner left, waiting');
    expect(browser.pageErrors).toEqual([]);
  });
});
