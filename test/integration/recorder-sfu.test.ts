/**
 * The recorder in an SFU room (`serve --topology sfu`): each publisher's forwarded audio track
 * goes to its own Ogg Opus file, on the session timeline, as in a mesh (these publishers send
 * no video; the manifest says video is recorded: test/integration/sfu-video.test.ts has it); a publisher who leaves has its file finalized at once; and `callpeer record` (built
 * CLI: `npm run build` first) against an SFU server.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bot } from '../../src/bots/bot.js';
import type { Manifest, ManifestFile } from '../../src/bots/recorder/manifest.js';
import { Recorder } from '../../src/bots/recorder/recorder.js';
import { SfuAgent } from '../../src/client/sfu-agent.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { runCli } from '../helpers/cli.js';
import { until } from '../helpers/rtc.js';
import { startTestServer, useTestServer } from '../helpers/server.js';
import { checkFrameOrigins, checkPauses, decodeRecording, frameOrigins, has, ScheduledSource, slice, tonePlan } from './recorder-helpers.js';
import type { MediaTrack } from '../../src/rtc/media-track.js';
import { Vp8SimulcastSender } from '../../src/rtc/vp8-sender.js';
import { PEER, publishCamera, sfuMember, VP8_LAYERS } from './sfu-helpers.js';

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const outDir = () => mkdtempSync(path.join(tmpdir(), 'callpeer-recsfu-'));

/** A bot playing `frames` in the room; with the session time (ms) its frame 0 was due. */
async function playBot(room: string, name: string, frames: (Buffer | undefined)[], recorder: Recorder) {
  const bot = new Bot({ wsUrl: ctx.server.wsUrl, room, name, source: new ScheduledSource(frames), peer: PEER });
  const ended = new Promise<void>((r) => bot.once('ended', () => r()));
  await bot.start(); // its pacer fires frame 0 as start() resolves
  return { bot, t0: performance.now() - recorder.startMs, ended };
}

/** What every recorded file must pass (opusinfo and ffprobe accept it, finalized); its decoded audio. */
function checkFile(dir: string, entry: ManifestFile): Int16Array {
  const file = path.join(dir, entry.file);
  if (has('opusinfo')) expect(spawnSync('opusinfo', [file]).status).toBe(0);
  if (has('ffprobe')) {
    const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', file], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('opus');
  }
  const { pcm } = decodeRecording(file);
  expect(entry.status).toBe('complete');
  expect(entry.kind).toBe('audio');
  return pcm;
}

describe('callpeer record in an SFU room', () => {
  it('records two publishers into aligned files named after them, their tones and pauses in place', async () => {
    const dir = outDir();
    const rec = new Recorder({ wsUrl: ctx.server.wsUrl, room: 'sfu-two', outDir: dir, peer: PEER });
    await rec.start();
    expect(rec.agent).toBeInstanceOf(SfuAgent);
    const a = tonePlan(440, [100, 25, 50, 40, 60]); // 5.5 s
    const b = tonePlan(660, [100, 50, 60, 20, 65]);
    const botA = await playBot('sfu-two', 'alice', a.frames, rec);
    await sleep(170); // not in step with alice
    const botB = await playBot('sfu-two', 'bob', b.frames, rec);
    await Promise.all([botA.ended, botB.ended]);
    await sleep(300);
    const ids = { alice: botA.bot.agent.id, bob: botB.bot.agent.id };
    const manifest = await rec.stop();
    await botA.bot.close();
    await botB.bot.close();

    expect(manifest).toMatchObject({ status: 'complete', topology: 'sfu', video: true });
    expect(manifest.files).toHaveLength(2);
    const origins: number[] = [];
    for (const [who, plan, t0, hz] of [['alice', a, botA.t0, 440], ['bob', b, botB.t0, 660]] as const) {
      const entry = manifest.files.find((f) => f.name === who)!;
      expect(entry).toMatchObject({ participantId: ids[who], codec: 'opus' });
      expect(entry.file).toContain(who);
      const pcm = checkFile(dir, entry);
      const file = path.join(dir, entry.file);
      const origin = checkPauses(pcm, plan.pauses, t0);
      origins.push(checkFrameOrigins(frameOrigins(file, plan.frames), t0, plan.pauses[0]![1]));
      const tone = slice(pcm, origin + plan.pauses[0]![1] * 20 + 50, origin + plan.pauses[1]![0] * 20 - 50);
      expect(Math.abs(dominantFrequency(tone, 48000) - hz)).toBeLessThanOrEqual(1);
      expect(entry.packets.lost).toBe(0);
      expect(Math.abs(pcm.length / 48 - manifest.durationMs)).toBeLessThanOrEqual(1000);
    }
    // Forwarding keeps time: the files line up as the bots played.
    expect(Math.abs(origins[0]! - origins[1]! - (botA.t0 - botB.t0))).toBeLessThanOrEqual(20);
    expect(manifest.participants.map((p) => p.name).sort()).toEqual(['alice', 'bob']);
  });

  it('a publisher who leaves has its file finalized while the recording goes on', async () => {
    const dir = outDir();
    const rec = new Recorder({ wsUrl: ctx.server.wsUrl, room: 'sfu-leave', outDir: dir, peer: PEER });
    await rec.start();
    const bot = new Bot({ wsUrl: ctx.server.wsUrl, room: 'sfu-leave', name: 'frank', source: new ToneSource(523), peer: PEER });
    await bot.start();
    await until(() => (rec.manifest.files[0]?.packets.received ?? 0) > 50, 10_000, 'frank recorded for a while');
    const closed = new Promise<ManifestFile>((r) => rec.once('file-closed', r));
    await bot.close();
    const entry = await closed;
    expect(entry).toMatchObject({ name: 'frank', status: 'complete' });
    expect(rec.manifest.status).toBe('recording');
    const manifest = await rec.stop();
    expect(manifest.files).toHaveLength(1);
    const pcm = checkFile(dir, manifest.files[0]!);
    expect(Math.abs(dominantFrequency(slice(pcm, entry.offsetMs + 300, entry.offsetMs + 1000), 48000) - 523)).toBeLessThanOrEqual(1);
  });

  it('a server restart: recorder and bot re-join, the old file ends there and a new one follows; the bot has one server link', async () => {
    const own = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
    const signaling = { minBackoffMs: 100, maxBackoffMs: 300 };
    const dir = outDir();
    const rec = new Recorder({ wsUrl: own.wsUrl, room: 'sfu-restart', outDir: dir, peer: PEER, signaling });
    await rec.start();
    const bot = new Bot({ wsUrl: own.wsUrl, room: 'sfu-restart', name: 'eve', source: new ToneSource(440), peer: PEER, signaling });
    await bot.start();
    await until(() => (rec.manifest.files[0]?.packets.received ?? 0) > 25, 10_000, 'the first file');
    await own.close();
    const again = await startTestServer({ port: own.port, topology: 'sfu', rtcBind: '127.0.0.1' });
    try {
      await until(() => rec.manifest.files.length >= 2, 20_000, 'a second file after the re-join');
      await until(() => (bot.stats()[0]?.heard?.length ?? -1) === 0 && bot.stats()[0]!.connected, 10_000, 'the bot connected again');
      expect(bot.stats()).toHaveLength(1);
      await sleep(1000);
      const manifest = await rec.stop();
      await bot.close();
      expect(manifest.connections.length).toBeGreaterThanOrEqual(2);
      const [first, second] = manifest.files;
      expect([first!.name, second!.name]).toEqual(['eve', 'eve']);
      // The old connection's file ended at the re-join, before the new one's audio starts.
      expect(first!.durationMs).toBeLessThanOrEqual(second!.offsetMs + 50);
      for (const f of [first!, second!]) {
        const pcm = checkFile(dir, f);
        expect(Math.abs(pcm.length / 48 - f.durationMs)).toBeLessThanOrEqual(25);
      }
    } finally {
      await again.close();
    }
  }, 40_000);

  it('`callpeer record <url>/r/<room>` records two tone publishers of an SFU room and exits 0 after --duration', async () => {
    const dir = outDir();
    const bots = [new Bot({ wsUrl: ctx.server.wsUrl, room: 'sfu-cli', name: 'low', source: new ToneSource(330), peer: PEER }),
      new Bot({ wsUrl: ctx.server.wsUrl, room: 'sfu-cli', name: 'high', source: new ToneSource(880), peer: PEER })];
    for (const b of bots) await b.start();
    const r = await runCli(['record', `${ctx.server.url}/r/sfu-cli`, '--out', dir, '--bind', '127.0.0.1', '--duration', '3'], { timeoutMs: 20_000 });
    for (const b of bots) await b.close();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('; SFU room)');
    expect(r.stdout).toMatch(/stopped \(duration\): 2 files/);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest).toMatchObject({ status: 'complete', topology: 'sfu', video: true });
    for (const [name, hz] of [['low', 330], ['high', 880]] as const) {
      const entry = manifest.files.find((f) => f.name === name)!;
      const pcm = checkFile(dir, entry);
      expect(Math.abs(dominantFrequency(pcm.subarray(pcm.length - 48000), 48000) - hz)).toBeLessThanOrEqual(1);
    }
  });

  it('records each publisher\'s camera at its highest layer into an IVF file ffprobe reads, next to its audio', async () => {
    const dir = outDir();
    const rec = new Recorder({ wsUrl: ctx.server.wsUrl, room: 'sfu-cams', outDir: dir, peer: PEER });
    await rec.start();
    const ann = await sfuMember(ctx.server.wsUrl, 'sfu-cams', 'ann', 440, { camera: true });
    const ben = await sfuMember(ctx.server.wsUrl, 'sfu-cams', 'ben', 660, { camera: true });
    await until(() => rec.manifest.files.filter((f) => f.kind === 'video').length >= 2, 15_000, 'two camera files');
    await sleep(3000);
    await ann.stop();
    await ben.stop();
    const manifest = await rec.stop();
    expect(manifest).toMatchObject({ status: 'complete', topology: 'sfu', video: true });
    for (const name of ['ann', 'ben']) {
      const video = manifest.files.find((f) => f.name === name && f.kind === 'video')!;
      const audio = manifest.files.find((f) => f.name === name && f.kind === 'audio')!;
      expect(video.file).toMatch(new RegExp(`^\\d+-${name}-camera\\.ivf$`));
      expect(video.status).toBe('complete');
      // The highest layer of the fixtures (640x360, 15 fps), from its first key frame on.
      const probe = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', path.join(dir, video.file)], { encoding: 'utf8' });
      expect(probe.status).toBe(0);
      const stream = (JSON.parse(probe.stdout) as { streams: { codec_name: string; width: number; height: number; nb_read_frames: string }[] }).streams[0]!;
      expect(stream).toMatchObject({ codec_name: 'vp8', width: 640, height: 360 });
      expect(Number(stream.nb_read_frames)).toBeGreaterThanOrEqual(40);
      // On the session timeline with the audio: both start within a second of each other (the camera waits for a key frame).
      expect(Math.abs(video.offsetMs - audio.offsetMs)).toBeLessThan(1000);
      expect(Math.abs(video.offsetMs + video.durationMs - (audio.offsetMs + audio.durationMs))).toBeLessThan(1000);
    }
  }, 40_000);

  it('records a publisher\'s screen share as its own IVF file next to its camera, on the same timeline', async () => {
    const dir = outDir();
    const rec = new Recorder({ wsUrl: ctx.server.wsUrl, room: 'sfu-screen', outDir: dir, peer: PEER });
    await rec.start();
    const agent = new SfuAgent({ wsUrl: ctx.server.wsUrl, room: 'sfu-screen', name: 'sam', audio: false, video: true, peer: PEER });
    // Its first video section is the camera (three layers), the second the screen (one layer:
    // the fixtures' 640x360, as a screen share is sent), as the router tells them apart.
    const camera = publishCamera(agent);
    let screen: MediaTrack | undefined;
    let screenSender: Vp8SimulcastSender | undefined;
    agent.on('server', (peer) => { screen = peer.addVideoSender(undefined, { layers: 1 }); });
    agent.on('negotiated', () => { if (screen && !screenSender) screenSender = new Vp8SimulcastSender(screen, [VP8_LAYERS[2]!], { fps: 15 }); });
    await agent.start();
    await until(() => rec.manifest.files.filter((f) => f.kind === 'video').length >= 2, 15_000, 'a camera file and a screen file');
    await sleep(3000);
    screenSender?.close();
    camera.close();
    await agent.close();
    const manifest = await rec.stop();
    const files = manifest.files.filter((f) => f.name === 'sam' && f.kind === 'video');
    expect(files.map((f) => f.file.replace(/^\d+-/, '')).sort()).toEqual(['sam-camera.ivf', 'sam-screen.ivf']);
    const probe = (file: string) => {
      const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', path.join(dir, file)], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      return (JSON.parse(r.stdout) as { streams: { codec_name: string; width: number; height: number; nb_read_frames: string }[] }).streams[0]!;
    };
    for (const f of files) {
      expect(f.status).toBe('complete');
      const stream = probe(f.file);
      expect(stream).toMatchObject({ codec_name: 'vp8', width: 640, height: 360 });
      expect(Number(stream.nb_read_frames)).toBeGreaterThanOrEqual(40);
    }
    // One timeline: the two start within a second of each other (each waits for a key frame).
    expect(Math.abs(files[0]!.offsetMs - files[1]!.offsetMs)).toBeLessThan(1000);
    expect(manifest.participants.find((p) => p.name === 'sam')).toBeDefined();
  }, 40_000);
});
