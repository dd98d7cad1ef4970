import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { startTestServer } from '../helpers/server.js';
import { PcmProbe, sleep, until } from './pcm-harness.js';

// Make-believe timing: pings every 100 ms, silence cut at 300 ms (20 s and 60 s in production).
const PING_MS = 100;
const SILENCE_MS = 300;
let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer({}, { pcm: { pingIntervalMs: PING_MS, silenceTimeoutMs: SILENCE_MS } });
});
afterAll(() => server.close());

/** Sends a 20 ms frame every 20 ms until stopped. */
function talk(p: PcmProbe): () => void {
  const f = Buffer.alloc(1920, 1);
  const timer = setInterval(() => { if (p.isOpen) p.sendAudio(f); }, 20);
  return () => clearInterval(timer);
}

describe('liveness', () => {
  it('closes a client that sends nothing and answers no ping within the silence timeout', async () => {
    const started = Date.now();
    const p = await PcmProbe.open(server, { pair: 'silent-1' }, { autoPong: false });
    await p.closed;
    const lived = Date.now() - started;
    expect(lived).toBeGreaterThanOrEqual(SILENCE_MS - 20);
    expect(lived).toBeLessThan(SILENCE_MS * 3);
  });

  it('keeps a quiet listener that answers pings, far past the timeout', async () => {
    const p = await PcmProbe.open(server, { pair: 'listener-1' });
    await sleep(SILENCE_MS * 4);
    expect(p.isOpen).toBe(true);
    p.close();
  });

  it('never drops a client that is sending audio, even one that answers no ping (the seed cut every call at 60 s)', async () => {
    const a = await PcmProbe.open(server, { pair: 'talk-1' }, { autoPong: false });
    const b = await PcmProbe.open(server, { pair: 'talk-1' }, { autoPong: false });
    await a.waitFor('connected');
    const stopA = talk(a);
    const stopB = talk(b);
    await sleep(SILENCE_MS * 5);
    const heard = b.audio.length;
    await sleep(100);
    expect(a.isOpen && b.isOpen).toBe(true);
    // still relaying at the end, both ways
    expect(b.audio.length).toBeGreaterThan(heard);
    expect(a.audio.length).toBeGreaterThan(20);
    stopA();
    stopB();
    // once both stop talking (and answer no ping) they are closed
    await Promise.all([a.closed, b.closed]);
  });

  it('when a silent partner is cut, the talker is told and waits for a new partner', async () => {
    const a = await PcmProbe.open(server, { pair: 'cut-1' });
    const ghost = await PcmProbe.open(server, { pair: 'cut-1' }, { autoPong: false });
    await a.waitFor('connected');
    const stop = talk(a);
    await ghost.closed;
    await a.waitFor('disconnected');
    await a.waitFor('waiting', 2);
    expect(a.isOpen).toBe(true);
    stop();
    a.close();
  });
});
