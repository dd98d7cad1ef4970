/**
 * The recorder with real Chromium call pages (fake microphone playing a known tone, fake
 * camera): one page there before the recorder (the recorder offers), one joining after (the
 * page offers). Each page's audio file decodes to the tone, each camera lands in a VP8 IVF
 * file ffprobe reads, and the pages show the "recording" indicator.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { Recorder } from '../../src/bots/recorder/recorder.js';
import { dominantFrequency, rms } from '../../src/media/analysis.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { joinCall } from '../browser/call-page.js';
import { hasChromium, launchBrowser, skipNote, toneWavFile, waitForPage, type TestBrowser } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';
import { decodeRecording, has } from './recorder-helpers.js';

const TONE_HZ = 660;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasChromium())(`recorder with Chromium call pages${skipNote()}`, { timeout: 60_000 }, () => {
  let server: RunningServer;
  let browser: TestBrowser;
  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser({ fakeAudioFile: toneWavFile(TONE_HZ) });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    cleanupRtc();
  });

  it('records each page\'s microphone at its tone and its camera as VP8', async () => {
    const room = 'rec-browser';
    const ada = await joinCall(browser, server.url, room, 'Ada', { query: { raw: '1' } });
    const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-recb-'));
    const rec = new Recorder({ wsUrl: server.wsUrl, room, outDir: dir, peer: { bindAddress: '127.0.0.1' } });
    await rec.start();
    await waitForPage(ada, () => window.callpeer!.state().recording, undefined, { what: 'the recording indicator' });
    const ben = await joinCall(browser, server.url, room, 'Ben', { query: { raw: '1' } });
    const opened = (kind: string) => rec.manifest.files.filter((f) => f.kind === kind).length;
    for (const end = Date.now() + 20_000; (opened('audio') < 2 || opened('video') < 2) && Date.now() < end;) await sleep(100);
    await sleep(4000);
    const manifest = await rec.stop();
    await ada.close();
    await ben.close();

    for (const name of ['Ada', 'Ben']) {
      const audio = manifest.files.find((f) => f.name === name && f.kind === 'audio');
      expect(audio, `${name}'s audio in ${JSON.stringify(manifest.files)}`).toBeDefined();
      const { pcm } = decodeRecording(path.join(dir, audio!.file));
      const last = pcm.subarray(pcm.length - 2 * 48000);
      expect(rms(last)).toBeGreaterThan(0.1);
      expect(Math.abs(dominantFrequency(last, 48000) - TONE_HZ)).toBeLessThanOrEqual(1);

      const video = manifest.files.find((f) => f.name === name && f.kind === 'video');
      expect(video, `${name}'s video in ${JSON.stringify(manifest.files)}`).toBeDefined();
      expect(video!.frames!.written).toBeGreaterThan(30);
      if (has('ffprobe')) {
        const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,width,nb_read_frames', '-of', 'json', path.join(dir, video!.file)], { encoding: 'utf8' });
        expect(r.status).toBe(0);
        const s = JSON.parse(r.stdout).streams[0];
        expect(s.codec_name).toBe('vp8');
        expect(s.width).toBeGreaterThan(0);
        expect(Number(s.nb_read_frames)).toBe(video!.frames!.written);
      }
    }
  });
});
