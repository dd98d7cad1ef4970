/**
 * The recorder in a real room with bots playing scheduled tones with pauses: one Ogg Opus
 * file each, decodable, its own tone, pauses where they were sent, files aligned; loss keeps
 * time; leaving and coming back gives a new file; --mix sums them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bot } from '../../src/bots/bot.js';
import type { Manifest } from '../../src/bots/recorder/manifest.js';
import { Recorder } from '../../src/bots/recorder/recorder.js';
import type { CallpeerError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { dominantFrequency, goertzelPower, rms } from '../../src/media/analysis.js';
import { parseWav } from '../../src/media/wav.js';
import { useTestServer } from '../helpers/server.js';
import { checkFrameOrigins, checkPauses, decodeRecording, frameOrigins, has, ScheduledSource, slice, tonePlan } from './recorder-helpers.js';

const PEER = { bindAddress: '127.0.0.1' };
const ctx = useTestServer({}, { rtc: true });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const outDir = () => mkdtempSync(path.join(tmpdir(), 'callpeer-rec-'));

/** Starts a bot playing `frames`; returns it with the session time (ms) its frame 0 was due. */
async function playBot(room: string, name: string, frames: (Buffer | undefined)[], recorder: Recorder) {
  const bot = new Bot({ wsUrl: ctx.server.wsUrl, room, name, source: new ScheduledSource(frames), peer: PEER });
  const ended = new Promise<void>((r) => bot.once('ended', () => r()));
  await bot.start(); // its pacer fires frame 0 as start() resolves
  return { bot, t0: performance.now() - recorder.startMs, ended };
}

function fileOf(m: Manifest, name: string): string {
  const f = m.files.find((x) => x.name === name);
  if (!f) throw new Error(`no file for ${name} in ${JSON.stringify(m.files)}`);
  return f.file;
}

describe('callpeer record', () => {
  it('records two bots into aligned files with their own tones and their pauses in place', async () => {
    const dir = outDir();
    const rec = new Recorder({ wsUrl: ctx.server.wsUrl, room: 'two', outDir: dir, peer: PEER, mixPath: path.join(dir, 'mix.wav') });
    await rec.start();
    // Tones start long: the first packets may go before the connection is up (DTLS can take 1 s).
    const a = tonePlan(440, [100, 25, 50, 40, 60]); // 5.5 s
    const b = tonePlan(660, [100, 50, 60, 20, 65]);
    const botA = await playBot('two', 'alice', a.frames, rec);
    await sleep(170); // not in step with alice
    const botB = await playBot('two', 'bob', b.frames, rec);
    await Promise.all([botA.ended, botB.ended]);
    await sleep(300);
    const manifest = await rec.stop();
    await botA.bot.close();
    await botB.bot.close();

    expect(manifest.status).toBe('complete');
    expect(manifest.files).toHaveLength(2);
    const origins: number[] = [];
    for (const [who, plan, t0, hz] of [['alice', a, botA.t0, 440], ['bob', b, botB.t0, 660]] as const) {
      const file = path.join(dir, fileOf(manifest, who));
      if (has('opusinfo')) expect(spawnSync('opusinfo', [file]).status).toBe(0);
      const { pcm } = decodeRecording(file);
      // Each pause where it was played, on the session's timeline.
      const origin = checkPauses(pcm, plan.pauses, t0);
      // Every packet in its place, on the session's timeline.
      origins.push(checkFrameOrigins(frameOrigins(file, plan.frames), t0, plan.pauses[0]![1]));
      // Its own tone, within 1 Hz, between the first two pauses.
      const tone = slice(pcm, origin + plan.pauses[0]![1] * 20 + 50, origin + plan.pauses[1]![0] * 20 - 50);
      expect(Math.abs(dominantFrequency(tone, 48000) - hz)).toBeLessThanOrEqual(1);
      const entry = manifest.files.find((f) => f.name === who)!;
      expect(entry.status).toBe('complete');
      expect(entry.packets.lost).toBe(0);
      expect(entry.offsetMs).toBeGreaterThanOrEqual(t0 - 20); // audio starts once the bot plays and is connected
      expect(entry.offsetMs).toBeLessThan(t0 + 1500);
      // Every file starts at the session start and runs to its end.
      expect(Math.abs(pcm.length / 48 - manifest.durationMs)).toBeLessThanOrEqual(1000);
    }
    // The files line up: alice's frame 0 and bob's are as far apart as they were played.
    expect(Math.abs(origins[0]! - origins[1]! - (botA.t0 - botB.t0))).toBeLessThanOrEqual(20);
    expect(manifest.participants.map((p) => p.name).sort()).toEqual(['alice', 'bob']);
    // The mix holds both tones where both played.
    const mix = parseWav(readFileSync(path.join(dir, 'mix.wav')));
    expect(manifest.mix?.status).toBe('complete');
    const both = slice(mix.samples, botB.t0 + 600, botB.t0 + 1000); // both in their first tone
    expect(goertzelPower(both, 48000, 440)).toBeGreaterThan(100);
    expect(goertzelPower(both, 48000, 660)).toBeGreaterThan(100);
  });

  it('with every 10th packet dropped, duration and pause positions hold and loss is counted', async () => {
    const dir = outDir();
    const rec = new Recorder({ wsUrl: ctx.server.wsUrl, room: 'lossy', outDir: dir, peer: PEER, dropPacket: (i) => i % 10 === 9 });
    await rec.start();
    const plan = tonePlan(440, [100, 30, 80, 30, 50]);
    const { bot, t0, ended } = await playBot('lossy', 'carol', plan.frames, rec);
    await ended;
    await sleep(300);
    const manifest = await rec.stop();
    await bot.close();
    const entry = manifest.files[0]!;
    const file = path.join(dir, entry.file);
    // Every packet that got through sits where it was played; the lost ones are marked and concealed.
    const origin = checkFrameOrigins(frameOrigins(file, plan.frames), t0, plan.pauses[0]![1]);
    const { pcm } = decodeRecording(file);
    for (const [f0, f1] of plan.pauses) expect(rms(slice(pcm, origin + f0 * 20 + 30, origin + f1 * 20 - 30))).toBe(0);
    const between = slice(pcm, origin + plan.pauses[0]![1] * 20 + 50, origin + plan.pauses[1]![0] * 20 - 50);
    expect(Math.abs(dominantFrequency(between, 48000) - 440)).toBeLessThanOrEqual(1);
    expect(Math.abs(pcm.length / 48 - manifest.durationMs)).toBeLessThanOrEqual(1000);
    const { received, lost } = entry.packets;
    expect(lost / (received + lost)).toBeGreaterThan(0.08);
    expect(lost / (received + lost)).toBeLessThan(0.12);
  });

  it('someone who leaves and comes back gets a new file, aligned on the same timeline', async () => {
    const dir = outDir();
    const rec = new Recorder({ wsUrl: ctx.server.wsUrl, room: 'again', outDir: dir, peer: PEER });
    await rec.start();
    const first = await playBot('again', 'dave', tonePlan(440, [100]).frames, rec);
    await first.ended;
    await first.bot.close();
    await sleep(300);
    const plan = tonePlan(550, [100, 20, 40]);
    const second = await playBot('again', 'dave', plan.frames, rec);
    await second.ended;
    await sleep(200);
    const manifest = await rec.stop();
    await second.bot.close();
    expect(manifest.files.map((f) => f.name)).toEqual(['dave', 'dave']);
    expect(manifest.participants).toHaveLength(2);
    expect(manifest.participants[0]!.leftMs).toBeGreaterThan(0);
    const { pcm } = decodeRecording(path.join(dir, manifest.files[1]!.file));
    const origin = checkFrameOrigins(frameOrigins(path.join(dir, manifest.files[1]!.file), plan.frames), second.t0, 120);
    expect(rms(slice(pcm, origin + 100 * 20 + 30, origin + 120 * 20 - 30))).toBe(0);
    expect(Math.abs(dominantFrequency(slice(pcm, origin + 120 * 20 + 50, origin + 160 * 20 - 50), 48000) - 550)).toBeLessThanOrEqual(1);
  });

  it('a file-opened listener that throws is logged as a listener error; the recording goes on (no IO_ERROR)', async () => {
    const dir = outDir();
    const lines: string[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    const rec = new Recorder({ wsUrl: ctx.server.wsUrl, room: 'throwing-listener', outDir: dir, peer: PEER, log: createLogger({ destination, pretty: false, level: 'warn' }) });
    const failures: CallpeerError[] = [];
    rec.on('failed', (e) => failures.push(e));
    rec.on('file-opened', () => { throw new Error('a bug in the caller'); });
    await rec.start();
    const eve = await playBot('throwing-listener', 'eve', tonePlan(440, [150]).frames, rec); // 3 s, DTLS may take 1 s of it
    await eve.ended;
    await sleep(300);
    const manifest = await rec.stop();
    await eve.bot.close();
    expect(failures).toEqual([]);
    expect(manifest.status).toBe('complete');
    expect(manifest.files).toHaveLength(1);
    expect(manifest.files[0]).toMatchObject({ name: 'eve', status: 'complete' });
    expect(manifest.files[0]!.packets.received).toBeGreaterThan(50); // recorded after the listener threw
    expect(lines.map((l) => JSON.parse(l) as object)).toContainEqual(expect.objectContaining({ msg: 'listener threw', event: 'file-opened', err: expect.anything() }));
  });
});
