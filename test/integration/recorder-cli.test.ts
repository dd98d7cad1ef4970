/**
 * `callpeer record` as a process (built CLI: `npm run build` first): SIGKILL leaves playable
 * files, SIGTERM finalizes, clear errors (unreachable server, refused join, unwritable
 * directory, disk full); and a server restart continues the recording in new files.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { Bot } from '../../src/bots/bot.js';
import type { Manifest } from '../../src/bots/recorder/manifest.js';
import { Recorder } from '../../src/bots/recorder/recorder.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { OGG_EOS, scanOggPages } from '../../src/media/ogg.js';
import { parseWav } from '../../src/media/wav.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { BIN, runCli, startCli } from '../helpers/cli.js';
import { startTestServer, useTestServer } from '../helpers/server.js';
import { decodeRecording, has } from './recorder-helpers.js';

const PEER = { bindAddress: '127.0.0.1' };
const ctx = useTestServer({}, { rtc: true });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const outDir = () => mkdtempSync(path.join(tmpdir(), 'callpeer-reccli-'));
const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));

function ffprobeDuration(file: string): number {
  const r = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return Number(r.stdout.trim());
}

async function toneBot(room: string, hz: number): Promise<Bot> {
  const bot = new Bot({ wsUrl: ctx.server.wsUrl, room, name: `tone${hz}`, source: new ToneSource(hz), peer: PEER });
  await bot.start();
  return bot;
}

describe('callpeer record (process)', () => {
  it.skipIf(!has('ffprobe'))('SIGKILL mid-way leaves files that play up to about the kill; record --repair then ends them and completes the manifest', async () => {
    const dir = outDir();
    const bot = await toneBot('kill', 440);
    const rec = await startCli(['record', ctx.server.wsUrl, '--room', 'kill', '--out', dir, '--bind', '127.0.0.1'], /> 01-/, { timeoutMs: 15_000 });
    await sleep(3000);
    rec.child.kill('SIGKILL');
    const killedAt = Date.now();
    await rec.exited;
    await bot.close();
    const manifest = readManifest(dir); // still whole JSON (atomic writes)
    const recorded = (killedAt - Date.parse(manifest.startedAt)) / 1000;
    expect(manifest.files).toHaveLength(1);
    const file = path.join(dir, manifest.files[0]!.file);
    const duration = ffprobeDuration(file);
    expect(Math.abs(duration - recorded)).toBeLessThanOrEqual(1);
    const { pcm } = decodeRecording(file); // every page whole, CRCs good
    expect(Math.abs(dominantFrequency(pcm.subarray(pcm.length - 48000), 48000) - 440)).toBeLessThanOrEqual(1);
    expect(manifest.status).toBe('recording');

    // `record --repair` finishes it. A page the crash left half written is cut first.
    const whole = readFileSync(file);
    const pages = scanOggPages(whole);
    expect(pages.at(-1)!.flags & OGG_EOS).toBe(0);
    const last = pages.at(-1)!;
    const torn = Math.min(50, last.length - 1); // a strict prefix of a page: never whole
    appendFileSync(file, whole.subarray(last.offset, last.offset + torn));
    const repaired = await runCli(['record', '--repair', dir]);
    expect(repaired.stderr).toBe('');
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toMatch(new RegExp(`^repaired ${manifest.files[0]!.file}: \\d+\\.\\d s, ${torn} bytes of a half-written end cut$`, 'm'));
    const after = readManifest(dir);
    expect(after).toMatchObject({ status: 'complete', files: [{ status: 'complete' }] });
    expect(after.repairedAt).toBeDefined();
    expect(Date.parse(after.endedAt!) - Date.parse(after.startedAt)).toBe(after.durationMs);
    expect(after.participants.every((p) => p.leftMs !== undefined && p.leftMs <= after.durationMs)).toBe(true);
    const ended = scanOggPages(readFileSync(file));
    expect(ended.at(-1)!.flags & OGG_EOS).toBe(OGG_EOS);
    expect(ended).toHaveLength(pages.length); // the 50 bytes cut, the last page marked, none added
    expect(readFileSync(file).length).toBe(whole.length);
    // Its duration is what an independent reader finds.
    expect(Math.abs(after.files[0]!.durationMs / 1000 - ffprobeDuration(file))).toBeLessThanOrEqual(0.06);
    if (has('opusinfo')) {
      const info = spawnSync('opusinfo', [file], { encoding: 'utf8' });
      expect(info.status).toBe(0);
      expect(`${info.stdout}${info.stderr}`).not.toMatch(/WARNING/i);
    }
    // Twice is harmless; a directory without a recording is a plain error.
    const again = await runCli(['record', '--repair', dir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to repair');
    const none = await runCli(['record', '--repair', outDir()]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no recording to repair in');
    expect(none.stderr).toContain('manifest.json');
    const both = await runCli(['record', '--repair', dir, 'http://127.0.0.1:9/r/x']);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('--repair takes a recording directory and no call link');
    const neither = await runCli(['record']);
    expect(neither.code).toBe(1);
    expect(neither.stderr).toContain('record needs the call link (or --whep URL, or --repair DIR)');
  });

  it('SIGTERM finalizes the files, the manifest and the --mix WAV, exit 0', async () => {
    const dir = outDir();
    const bot = await toneBot('term', 523);
    const rec = await startCli(['record', ctx.server.wsUrl, '--room', 'term', '--out', dir, '--bind', '127.0.0.1', '--mix', path.join(dir, 'mix.wav')], /> 01-/, { timeoutMs: 15_000 });
    await sleep(1500);
    rec.child.kill('SIGTERM');
    const result = await rec.exited;
    await bot.close();
    expect(result.code).toBe(0);
    const manifest = readManifest(dir);
    expect(manifest.status).toBe('complete');
    expect(manifest.files[0]).toMatchObject({ status: 'complete', name: 'tone523' });
    if (has('opusinfo')) expect(spawnSync('opusinfo', [path.join(dir, manifest.files[0]!.file)]).status).toBe(0);
    expect(manifest.mix).toMatchObject({ status: 'complete' });
    const mix = parseWav(readFileSync(path.join(dir, 'mix.wav')));
    expect(Math.abs(mix.samples.length / 48 - manifest.files[0]!.durationMs)).toBeLessThanOrEqual(25);
    expect(Math.abs(dominantFrequency(mix.samples.subarray(mix.samples.length - 24000), 48000) - 523)).toBeLessThanOrEqual(1);
  });

  it('an unreachable server is a plain error, exit 1', async () => {
    const r = await runCli(['record', 'http://127.0.0.1:9/r/x', '--out', outDir()], { timeoutMs: 15_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^callpeer: /);
    expect(r.stderr).not.toMatch(/unexpected error/);
  });

  it('a join the server refuses (room not found, unauthorized) is a plain error, exit 1', async () => {
    for (const code of ['ROOM_NOT_FOUND', 'UNAUTHORIZED']) {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      wss.on('connection', (ws) => ws.on('message', () => ws.send(JSON.stringify({ type: 'error', code, message: 'no', ref: 'join' }))));
      await new Promise((r) => wss.once('listening', r));
      const port = (wss.address() as { port: number }).port;
      const r = await runCli(['record', `http://127.0.0.1:${port}/r/secret`, '--out', outDir()], { timeoutMs: 15_000 });
      wss.close();
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^callpeer: .*\n {2}fix: /);
    }
  });

  it('an output directory that cannot be written is a plain error, exit 1', async () => {
    const r = await runCli(['record', ctx.server.wsUrl, '--room', 'nowhere', '--out', '/dev/null/rec'], { timeoutMs: 15_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^callpeer: .*\n {2}fix: /);
  });

  const canMount = process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0;
  it.skipIf(!canMount || !has('ffprobe'))('a full disk stops with a plain error and leaves the files written so far playable', async () => {
    const bot = await toneBot('full', 440);
    // A 16 KiB tmpfs in a mount namespace of its own: the recorder fills it in a few seconds.
    const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-full-'));
    const script = `mount -t tmpfs -o size=16k tmpfs "${dir}" && "${process.execPath}" "${BIN}" record "${ctx.server.wsUrl}" --room full --out "${dir}/rec" --bind 127.0.0.1 --duration 20; echo "exit=$?"; echo "duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "${dir}"/rec/01-*.opus)"; cat "${dir}/rec/manifest.json"`;
    const r = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
      const child = spawn('unshare', ['-m', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      child.on('close', () => resolve({ stdout, stderr }));
    });
    await bot.close();
    expect(r.stdout).toMatch(/exit=1/);
    expect(r.stderr).toMatch(/^callpeer: disk full/m);
    // The file plays up to where the disk filled (its EOS page may not have fitted).
    expect(Number(/duration=([\d.]+)/.exec(r.stdout)?.[1])).toBeGreaterThan(1);
  }, 30_000);

  it('a server restart: the recorder re-joins and goes on in new files, listed in the manifest', async () => {
    const own = await startTestServer();
    const port = own.port;
    const dir = outDir();
    const rec = new Recorder({ wsUrl: own.wsUrl, room: 'restart', outDir: dir, peer: PEER, signaling: { minBackoffMs: 100, maxBackoffMs: 300 } });
    await rec.start();
    const bot = new Bot({ wsUrl: own.wsUrl, room: 'restart', name: 'eve', source: new ToneSource(440), peer: PEER, signaling: { minBackoffMs: 100, maxBackoffMs: 300 } });
    await bot.start();
    const opened = () => rec.manifest.files.length;
    for (let t = Date.now(); opened() < 1 && Date.now() - t < 10_000;) await sleep(50);
    await sleep(1000);
    await own.close();
    const again = await startTestServer({ port });
    for (let t = Date.now(); opened() < 2 && Date.now() - t < 20_000;) await sleep(100);
    await sleep(1000);
    const manifest = await rec.stop();
    await bot.close();
    await again.close();
    expect(manifest.connections.length).toBeGreaterThanOrEqual(2);
    expect(manifest.connections[0]!.lostMs).toBeGreaterThan(0);
    const files = manifest.files.filter((f) => f.name === 'eve');
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      expect(f.status).toBe('complete');
      const { pcm } = decodeRecording(path.join(dir, f.file));
      expect(Math.abs(pcm.length / 48 - f.durationMs)).toBeLessThanOrEqual(25);
    }
    // The second file is on the same timeline: its audio starts after the first one's ended.
    expect(files[1]!.offsetMs).toBeGreaterThan(files[0]!.offsetMs + 1000);
  }, 40_000);
});
