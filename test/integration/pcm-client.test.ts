import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { parseWav } from '../../src/media/wav.js';
import { PcmClient } from '../../src/client/pcm-client.js';
import { ToneFrames } from '../../src/media/frames.js';
import { WavFileRecorder } from '../../src/client/wav-recorder.js';
import { startTestServer } from '../helpers/server.js';
import { sleep, until } from './pcm-harness.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** A client with its events recorded in order. */
function client(options: Partial<ConstructorParameters<typeof PcmClient>[0]> = {}): { c: PcmClient; events: string[] } {
  const c = new PcmClient({ url: server.url, ...options });
  const events: string[] = [];
  for (const e of ['waiting', 'connected', 'disconnected', 'ended'] as const) c.on(e, () => events.push(e));
  c.on('peer-muted', (m) => events.push(`peer-muted:${m}`));
  c.on('server-error', (err) => events.push(`error:${err.code}`));
  return { c, events };
}

describe('PcmClient', () => {
  it('reports waiting, connected, disconnected and waiting again; relays mute; plays only while paired', async () => {
    const a = client({ pair: 'pc-1' });
    await a.c.connect();
    a.c.play(new ToneFrames(440, 48000));
    await until(() => a.events.includes('waiting'), 'waiting');
    await sleep(100);
    expect(a.c.stats.sent).toBe(0); // nobody to hear it yet
    const b = client({ pair: 'pc-1', codec: 'opus', rate: 24000 });
    let heard = 0;
    const sizes = new Set<number>();
    b.c.on('audio', (s) => { heard += s.length; sizes.add(s.length); });
    await b.c.connect();
    await until(() => heard >= 24000 / 2, 'half a second of audio at 24 kHz');
    expect([...sizes]).toEqual([480]); // 20 ms at 24 kHz, decoded from the server's Opus
    b.c.mute(true);
    await until(() => a.events.includes('peer-muted:true'), 'peer-muted');
    await b.c.close();
    await until(() => a.events.filter((e) => e === 'waiting').length === 2, 'waiting again');
    expect(a.events).toEqual(['waiting', 'connected', 'peer-muted:true', 'disconnected', 'waiting']);
    const sentWhenAlone = a.c.stats.sent;
    await sleep(100);
    expect(a.c.stats.sent).toBe(sentWhenAlone);
    await a.c.close();
  });

  it('records what it hears to a WAV file at its own rate', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'callpeer-pcm-')), 'heard.wav');
    const rec = await WavFileRecorder.open(file, 16000);
    const a = client({ pair: 'pc-2', rate: 16000 });
    a.c.on('audio', (s) => rec.write(s));
    const b = client({ pair: 'pc-2', codec: 'opus' });
    await a.c.connect();
    await b.c.connect();
    b.c.play(new ToneFrames(440, 48000, { durationMs: 1000 }));
    await until(() => b.events.includes('ended'), 'the tone to end', 5000);
    await sleep(200);
    await Promise.all([a.c.close(), b.c.close()]);
    await rec.close();
    const wav = parseWav(readFileSync(file));
    expect(wav.sampleRate).toBe(16000);
    expect(rec.seconds).toBeGreaterThan(0.9);
    expect(Math.abs(dominantFrequency(wav.samples.subarray(1600), 16000) - 440)).toBeLessThanOrEqual(1);
    // the header holds the true sizes
    expect(readFileSync(file).readUInt32LE(40)).toBe(wav.samples.length * 2);
  });

  it('a taken code yields server-error PAIR_FULL and then closed', async () => {
    const a = client({ pair: 'pc-3' });
    const b = client({ pair: 'pc-3' });
    await a.c.connect();
    await b.c.connect();
    const third = client({ pair: 'pc-3' });
    const closed = new Promise<number>((r) => third.c.once('closed', (i) => r(i.code)));
    await third.c.connect();
    expect(await closed).toBe(1008);
    expect(third.events).toEqual(['error:PAIR_FULL']);
    await Promise.all([a.c.close(), b.c.close()]);
  });

  it('a recording that cannot be created rejects with IO_ERROR', async () => {
    await expect(WavFileRecorder.open('/nonexistent-dir/heard.wav', 48000)).rejects.toMatchObject({ code: 'IO_ERROR' });
  });

  it('rejects connect() with CONNECTION_FAILED when nothing listens', async () => {
    const c = new PcmClient({ url: 'http://127.0.0.1:1' });
    await expect(c.connect()).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
  });
});
