/**
 * `callpeer record --whep` (built CLI: `npm run build` first) records a WHEP stream: a
 * WhipClient publishes a tone and a 640x360 VP8 camera into an SFU room, the recorder views
 * the room through callpeer's own `/whep/<room>`. Checked with independent tools: opusinfo
 * accepts the audio file, which decodes to the tone; ffprobe decodes the camera file as VP8
 * at 640x360. And the clear errors: an unreachable endpoint, a URL that is none, both a call
 * link and --whep, a refused stream.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../src/bots/recorder/manifest.js';
import { WhipClient } from '../../src/client/whip-client.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { Vp8SimulcastSender } from '../../src/rtc/vp8-sender.js';
import { runCli } from '../helpers/cli.js';
import { startTestServer, useTestServer } from '../helpers/server.js';
import { decodeRecording, has } from './recorder-helpers.js';
import { PEER, VP8_LAYERS } from './sfu-helpers.js';

afterAll(() => cleanupRtc());
const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });
const tools = ['ffprobe', 'opusinfo'];

describe('callpeer record --whep', () => {
  it.skipIf(!tools.every(has))('records a WHEP stream into an Ogg Opus file of the tone and an IVF file of the camera, which opusinfo and ffprobe accept', async () => {
    const whip = new WhipClient({ url: `${ctx.server.url}/whip/stage?name=Stage`, video: true, peer: PEER });
    await whip.start();
    void whip.play(new ToneSource(550, { durationMs: 600_000 }));
    const camera = new Vp8SimulcastSender(whip.videoTrack!, [VP8_LAYERS[2]!], { fps: 15 });
    const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-recwhep-'));
    const r = await runCli(['record', '--whep', `${ctx.server.url}/whep/stage`, '--out', dir, '--duration', '4', '--bind', '127.0.0.1'], { timeoutMs: 20_000 });
    camera.close();
    await whip.stop();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`recording WHEP stream ${ctx.server.url}/whep/stage into`);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest).toMatchObject({ status: 'complete', topology: 'whep', room: 'stage', server: `${ctx.server.url}/whep/stage` });
    // Numbered in the order they opened: the first audio packet or the first key frame may come first.
    const files = [...manifest.files].sort((a, b) => a.kind.localeCompare(b.kind));
    expect(files.map((f) => [f.file.replace(/^0[12]-/, 'NN-'), f.kind, f.codec, f.status])).toEqual([
      ['NN-stage-audio.opus', 'audio', 'opus', 'complete'],
      ['NN-stage-camera.ivf', 'video', 'vp8', 'complete'],
    ]);
    const audio = path.join(dir, files[0]!.file);
    expect(spawnSync('opusinfo', [audio], { encoding: 'utf8' }).status).toBe(0);
    const { pcm } = decodeRecording(audio);
    expect(Math.abs(dominantFrequency(pcm.subarray(pcm.length - 48000), 48000) - 550)).toBeLessThanOrEqual(1);
    const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', path.join(dir, files[1]!.file)], { encoding: 'utf8' });
    expect(probe.status).toBe(0);
    const stream = (JSON.parse(probe.stdout) as { streams: { codec_name: string; width: number; height: number; nb_read_frames: string }[] }).streams[0]!;
    expect(stream).toMatchObject({ codec_name: 'vp8', width: 640, height: 360 });
    expect(Number(stream.nb_read_frames)).toBeGreaterThanOrEqual(30); // 15 fps for ~3 s of the 4
    // The viewer left with the recorder: only the publisher was in the room at the end.
    expect(ctx.server.rooms.get('stage')?.participants().map((p) => p.name) ?? []).toEqual([]);
  });

  it('says plainly what is wrong and exits 1', async () => {
    const cases: [string[], RegExp][] = [
      [['record', '--whep', 'not a url'], /--whep not a url is not a URL/],
      [['record', '--whep', 'ws://127.0.0.1:2/whep/x'], /--whep needs an http\(s\) URL, not ws:/],
      [['record', 'http://127.0.0.1:2/r/x', '--whep', 'http://127.0.0.1:2/whep/x'], /--whep records a WHEP stream: give it no call link too/],
      [['record', '--whep', 'http://127.0.0.1:2/whep/x', '--bind', '127.0.0.1', '--out', mkdtempSync(path.join(tmpdir(), 'callpeer-recwhep-'))], /cannot reach http:\/\/127\.0\.0\.1:2\/whep\/x: connect ECONNREFUSED/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { timeoutMs: 15_000 });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
    }
    const mesh = await startTestServer({ rtcBind: '127.0.0.1' });
    try {
      const r = await runCli(['record', '--whep', `${mesh.url}/whep/meshy`, '--bind', '127.0.0.1', '--out', mkdtempSync(path.join(tmpdir(), 'callpeer-recwhep-'))], { timeoutMs: 15_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/WHEP endpoint refused \(409 SFU_NOT_ENABLED\).*mesh room/);
    } finally {
      await mesh.close();
    }
  });
});
