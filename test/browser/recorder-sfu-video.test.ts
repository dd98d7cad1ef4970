/**
 * The recorder in an SFU room with real Chromium call pages (fake camera, fake microphone
 * playing a known tone): two pages publish simulcast cameras and microphones, the recorder
 * (the library, as test/integration/recorder-sfu.test.ts uses it) records the room for a few
 * seconds. Checked with independent tools: ffprobe decodes each camera file as VP8
 * at a plausible size with at least 10 frames for every second recorded; opusinfo and ffprobe
 * accept each microphone file, which decodes to the tone.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import type { ManifestFile } from '../../src/bots/recorder/manifest.js';
import { Recorder } from '../../src/bots/recorder/recorder.js';
import { SfuAgent } from '../../src/client/sfu-agent.js';
import { dominantFrequency, rms } from '../../src/media/analysis.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { decodeRecording } from '../integration/recorder-helpers.js';
import { hasChromium, launchBrowser, skipNote, toneWavFile, waitForPage, type TestBrowser } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';
import { has } from '../helpers/tools.js';
import { DEBUG_STATE, joinCall, state } from './call-page.js';

const TONE_HZ = 550;
/** How long the recorder records once both cameras are being written. */
const RECORD_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tools = ['ffprobe', 'opusinfo'];
const toolsMissing = tools.filter((t) => !has(t));

interface VideoProbe { codec_name: string; width: number; height: number; nb_read_frames: string; nb_read_packets: string }

describe.skipIf(!hasChromium() || toolsMissing.length > 0)(
  `recorder in an SFU room with Chromium call pages${skipNote()}${toolsMissing.length ? ` (skipped: ${toolsMissing.join(', ')} missing; apt-get install ffmpeg opus-tools)` : ''}`,
  { timeout: 90_000 },
  () => {
    let server: RunningServer;
    let browser: TestBrowser;
    beforeAll(async () => {
      server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
      browser = await launchBrowser({ fakeAudioFile: toneWavFile(TONE_HZ) });
    });
    afterAll(async () => {
      await browser?.close();
      await server?.close();
      cleanupRtc();
    });

    it('writes one VP8 camera file per page (ffprobe decodes it, ≥ 10 frames per second recorded) and an Opus file of each tone', async () => {
      const room = 'rec-sfu-video';
      const pages = [
        await joinCall(browser, server.url, room, 'Ada', { query: { raw: '1' } }),
        await joinCall(browser, server.url, room, 'Ben', { query: { raw: '1' } }),
      ];
      const ids = await Promise.all(pages.map(async (p) => (await state(p)).id));
      // Both cameras are in the room's track list before the recorder comes.
      await waitForPage(pages[0]!, () => window.callpeer!.state().sfu.tracks.filter((t) => t.source === 'camera').length === 2,
        undefined, { what: 'two cameras published', timeoutMs: 15_000, debug: DEBUG_STATE });

      const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-recsfuv-'));
      const rec = new Recorder({ wsUrl: server.wsUrl, room, outDir: dir, peer: { bindAddress: '127.0.0.1' } });
      await rec.start();
      expect(rec.agent).toBeInstanceOf(SfuAgent);
      const writing = (kind: 'audio' | 'video') => rec.manifest.files.filter((f) => f.kind === kind && (kind === 'audio' ? f.packets.received > 0 : (f.frames?.written ?? 0) > 0)).length;
      for (const end = Date.now() + 20_000; (writing('audio') < 2 || writing('video') < 2) && Date.now() < end;) await sleep(100);
      expect(writing('video'), `camera files being written: ${JSON.stringify(rec.manifest.files)}`).toBe(2);
      const from = Date.now();
      await sleep(RECORD_MS);
      const manifest = await rec.stop();
      const recordedS = (Date.now() - from) / 1000;
      for (const p of pages) await p.close();

      expect(manifest).toMatchObject({ status: 'complete', topology: 'sfu', video: true });
      const videos = manifest.files.filter((f) => f.kind === 'video');
      expect(videos.map((f) => f.participantId).sort()).toEqual([...ids].sort());
      const figures: string[] = [];
      for (const [i, name] of ['Ada', 'Ben'].entries()) {
        const mine = (kind: string) => manifest.files.filter((f) => f.name === name && f.kind === kind);
        // One camera file, nothing else of video (no screen).
        expect(mine('video'), `${name}'s video files in ${JSON.stringify(manifest.files)}`).toHaveLength(1);
        const video = mine('video')[0]!;
        expect(video).toMatchObject({ participantId: ids[i], codec: 'vp8', status: 'complete' });
        expect(video.file).toMatch(new RegExp(`^\\d+-${name}-camera\\.ivf$`));
        const file = path.join(dir, video.file);
        const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-count_packets', '-show_entries', 'stream=codec_name,width,height,nb_read_frames,nb_read_packets', '-of', 'json', file], { encoding: 'utf8' });
        expect(probe.status, probe.stderr).toBe(0);
        const stream = (JSON.parse(probe.stdout) as { streams: VideoProbe[] }).streams[0]!;
        expect(stream.codec_name).toBe('vp8');
        // The page asks for 1280x720 and sends it as three layers; the recorder takes the top
        // one, which Chromium may scale down for CPU: 16:9, somewhere from 320x180 to 1280x720.
        expect(stream.width).toBeGreaterThanOrEqual(320);
        expect(stream.width).toBeLessThanOrEqual(1280);
        expect(Math.abs(stream.height / stream.width - 9 / 16)).toBeLessThan(0.05);
        const frames = Number(stream.nb_read_frames);
        expect(frames).toBeGreaterThanOrEqual(Math.floor(recordedS * 10));
        // Every frame in the file decoded to a picture (a delta frame before the first key
        // frame would be discarded by the decoder), and the recorder counted what it wrote.
        expect(Number(stream.nb_read_packets)).toBe(frames);
        expect(video.frames?.written).toBe(frames);
        // Every frame decodes without a decoder error, the first one a key frame (no delta
        // frames before it that nothing could decode). ffprobe decodes each frame here (not
        // ffmpeg -f null, whose muxer warns about its own rescaled timestamps).
        const decode = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'frame=key_frame', '-of', 'csv=p=0', file], { encoding: 'utf8' });
        expect(decode.status).toBe(0);
        expect(decode.stderr.trim()).toBe('');
        const keys = decode.stdout.trim().split('\n');
        expect(keys.length).toBe(frames);
        expect(keys[0]).toBe('1');
        figures.push(`${name} ${stream.width}x${stream.height} ${frames} frames in ${recordedS.toFixed(1)} s`);

        expect(mine('audio')).toHaveLength(1);
        checkAudio(dir, mine('audio')[0]!);
        // On one timeline: both tracks ran until the recording stopped, so they end together
        // (a camera anchored at its first frame's arrival ended up to 1.2 s after its audio).
        const audio = mine('audio')[0]!;
        const skew = video.durationMs - audio.durationMs; // both: ms from the session start to the file's end
        figures.push(`${name} camera ends ${skew} ms from its audio`);
        expect(Math.abs(skew)).toBeLessThanOrEqual(250);
      }
      console.log(`recorded cameras: ${figures.join('; ')}`);
      expect(browser.pageErrors).toEqual([]);
    });
  },
);

/** As the recorder tests check audio: opusinfo and ffprobe accept it, finalized, and it is the tone. */
function checkAudio(dir: string, entry: ManifestFile): void {
  expect(entry).toMatchObject({ kind: 'audio', codec: 'opus', status: 'complete' });
  const file = path.join(dir, entry.file);
  expect(spawnSync('opusinfo', [file]).status).toBe(0);
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stdout.trim()).toBe('opus');
  const { pcm } = decodeRecording(file);
  const last = pcm.subarray(pcm.length - 2 * 48000);
  expect(rms(last)).toBeGreaterThan(0.1);
  expect(Math.abs(dominantFrequency(last, 48000) - TONE_HZ)).toBeLessThanOrEqual(1);
}
