import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { ToneGenerator } from '../../src/media/tone.js';
import { bytesToInt16 } from '../../src/media/pcm.js';
import { encodeWav, parseWav } from '../../src/media/wav.js';
import { runCli } from '../helpers/cli.js';
import { startTestServer } from '../helpers/server.js';
import { PcmProbe } from './pcm-harness.js';

// These run the built CLI (bin/callpeer.js -> dist/): `npm run build` first, as .ci/run does.
let server: RunningServer;
const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-pcm-cli-'));

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** The tone in a recorded WAV, skipping the first 0.3 s (pairing, codec warm-up). */
function toneIn(file: string): { hz: number; seconds: number } {
  const wav = parseWav(readFileSync(file));
  const start = Math.round(wav.sampleRate * 0.3);
  return { hz: dominantFrequency(wav.samples.subarray(start, start + wav.sampleRate), wav.sampleRate), seconds: wav.samples.length / wav.sampleRate };
}

describe('callpeer pcm', () => {
  it('two CLI processes pair by code, each hears the other\'s tone in its own format, and both exit 0', async () => {
    const a = path.join(dir, 'a.wav');
    const b = path.join(dir, 'b.wav');
    const [ra, rb] = await Promise.all([
      runCli(['pcm', server.url, '--pair', 'cli-1', '--tone', '440', '--record', a, '--duration', '3']),
      runCli(['pcm', server.url, '--pair', 'cli-1', '--codec', 'opus', '--rate', '16000', '--tone', '660', '--record', b, '--duration', '3']),
    ]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(ra.stdout).toMatch(/connected: receiving pcm 48000 Hz/);
    expect(rb.stdout).toMatch(/connected: receiving opus 16000 Hz/);
    const heardByA = toneIn(a);
    const heardByB = toneIn(b);
    expect(heardByA.seconds).toBeGreaterThan(1.5);
    expect(heardByB.seconds).toBeGreaterThan(1.5);
    expect(Math.abs(heardByA.hz - 660)).toBeLessThanOrEqual(1);
    expect(Math.abs(heardByB.hz - 440)).toBeLessThanOrEqual(1);
    expect(parseWav(readFileSync(b)).sampleRate).toBe(16000);
  }, 20_000);

  it('plays a WAV file of another rate to its partner and ends when the file ends', async () => {
    const file = path.join(dir, 'tone-24k.wav');
    // 525 Hz sits on dominantFrequency's 5 Hz coarse grid: over exactly 1 s, an off-grid tone
    // (e.g. 523 Hz) falls in the nulls of both neighbouring bins and is missed.
    writeFileSync(file, encodeWav(new ToneGenerator(525, 24000).next(24000 * 2), 24000));
    const listener = await PcmProbe.open(server, { pair: 'cli-2', rate: '16000' });
    await listener.waitFor('waiting');
    const r = await runCli(['pcm', server.url, '--pair', 'cli-2', '--play', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/done \(ended\): sent 100 frames/);
    const samples = bytesToInt16(Buffer.concat(listener.audio));
    expect(Math.abs(dominantFrequency(samples.subarray(1600, 17600), 16000) - 525)).toBeLessThanOrEqual(1);
    listener.close();
  }, 20_000);

  it('a third client with a taken code exits 1 with a plain message', async () => {
    const a = await PcmProbe.open(server, { pair: 'cli-3' });
    const b = await PcmProbe.open(server, { pair: 'cli-3' });
    await b.waitFor('connected');
    const r = await runCli(['pcm', server.url, '--pair', 'cli-3', '--duration', '5']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/server error PAIR_FULL/);
    expect(r.stderr).toMatch(/^callpeer: the server refused the session/m);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    a.close();
    b.close();
  }, 20_000);

  it('an unreachable server or a bad flag exits 1 with a plain message', async () => {
    const port = new URL(server.url).port;
    const down = await runCli(['pcm', `http://127.0.0.1:${Number(port) === 1 ? 2 : 1}`, '--duration', '1']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^callpeer: cannot connect/m);
    const bad = await runCli(['pcm', server.url, '--rate', '44100']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^callpeer: --rate must be one of/m);
  }, 20_000);
});
