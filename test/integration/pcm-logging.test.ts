import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { startTestServer } from '../helpers/server.js';
import { PcmProbe, sleep, until } from './pcm-harness.js';

const lines: Record<string, unknown>[] = [];
let server: RunningServer;

beforeAll(async () => {
  const destination = new Writable({ write(chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); done(); } });
  const log = createLogger({ level: 'info', pretty: false, destination });
  server = await startTestServer({}, { log, pcm: { statsIntervalMs: 200 } });
});
afterAll(() => server.close());

describe('pcm logging', () => {
  it('logs each pair start and end with its session id, a periodic stats line, and nothing per frame', async () => {
    const a = await PcmProbe.open(server, { pair: 'log-1' });
    const b = await PcmProbe.open(server, { pair: 'log-1', codec: 'opus' });
    await b.waitFor('connected');
    for (let i = 0; i < 200; i++) a.sendAudio(Buffer.alloc(1920, 1));
    await until(() => b.audio.length === 200, 'all frames');
    await sleep(300);
    a.close();
    await b.waitFor('waiting');
    b.close();
    await sleep(50);
    const pcm = lines.filter((l) => l.service === 'pcm');
    const started = pcm.find((l) => l.msg === 'pcm pair started');
    const ended = pcm.find((l) => l.msg === 'pcm pair ended');
    expect(started?.session).toMatch(/^s\d+$/);
    expect(ended?.session).toBe(started?.session);
    const stats = pcm.filter((l) => l.msg === 'pcm stats');
    expect(stats.reduce((s, l) => s + (l.transcoded as number), 0)).toBe(200);
    // 200 frames relayed, a handful of lines
    expect(pcm.length).toBeLessThan(12);
  });
});
