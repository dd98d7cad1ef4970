import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { startTestServer } from '../helpers/server.js';
import { PcmProbe, metric, sleep, until } from './pcm-harness.js';

let server: RunningServer;
let open: PcmProbe[] = [];
let seq = 0;
const code = () => `code-${++seq}`;

async function probe(query: Record<string, string> = {}): Promise<PcmProbe> {
  const p = await PcmProbe.open(server, query);
  open.push(p);
  return p;
}

/** Two clients paired by a fresh code (returned third), each having received `connected`. */
async function pair(qa: Record<string, string> = {}, qb: Record<string, string> = qa): Promise<[PcmProbe, PcmProbe, string]> {
  const c = code();
  const a = await probe({ ...qa, pair: c });
  await a.waitFor('waiting');
  const b = await probe({ ...qb, pair: c });
  await a.waitFor('connected');
  await b.waitFor('connected');
  return [a, b, c];
}

const frame = (bytes: number, fill = 1) => Buffer.alloc(bytes, fill);

beforeAll(async () => {
  server = await startTestServer();
});
afterEach(async () => {
  for (const p of open) p.ws.terminate();
  open = [];
  // let the server see every close before the next test counts clients
  await sleep(30);
});
afterAll(() => server.close());

describe('pairing', () => {
  it('pairs two clients first come, first served and tells each what it will receive', async () => {
    const a = await probe({ codec: 'pcm', rate: '16000' });
    await a.waitFor('waiting');
    const b = await probe({ codec: 'opus', rate: '48000' });
    await a.waitFor('connected');
    await b.waitFor('connected');
    expect(a.types()).toEqual(['waiting', 'connected']);
    // the second one found a partner at once: no waiting
    expect(b.types()).toEqual(['connected']);
    expect(a.last('connected')).toEqual({ type: 'connected', codec: 'pcm', sampleRate: 16000, channels: 1, frameMs: 20 });
    expect(b.last('connected')).toEqual({ type: 'connected', codec: 'opus', sampleRate: 48000, channels: 1, frameMs: 20 });
  });

  it('pairs by invite code only with the same code, never with a codeless client', async () => {
    const x = code();
    const a = await probe({ pair: x });
    await a.waitFor('waiting');
    const b = await probe();
    await b.waitFor('waiting');
    const c = await probe({ pair: code() });
    await c.waitFor('waiting');
    const d = await probe({ pair: x });
    await d.waitFor('connected');
    await a.waitFor('connected');
    await sleep(50);
    expect(b.types()).toEqual(['waiting']);
    expect(c.types()).toEqual(['waiting']);
  });

  it('answers PAIR_FULL to a third client with a code already paired and closes it with 1008', async () => {
    const c = code();
    const a = await probe({ pair: c });
    const b = await probe({ pair: c });
    await a.waitFor('connected');
    await b.waitFor('connected');
    const third = await probe({ pair: c });
    expect(await third.closed).toBe(1008);
    expect(third.messages).toEqual([{ type: 'error', code: 'PAIR_FULL', message: expect.any(String) }]);
    // the pair is untouched
    expect(a.isOpen && b.isOpen).toBe(true);
    expect(a.types()).toEqual(['waiting', 'connected']);
  });

  it('refuses bad upgrade parameters with INVALID_MESSAGE and close 1008', async () => {
    for (const query of [{ codec: 'mp3' }, { rate: '44100' }, { pair: 'no spaces' }] as Record<string, string>[]) {
      const p = await probe(query);
      expect(await p.closed).toBe(1008);
      expect(p.messages).toEqual([{ type: 'error', code: 'INVALID_MESSAGE', message: expect.any(String) }]);
    }
  });

  it('the survivor gets disconnected then waiting, and is paired again with the next client (the seed stranded it)', async () => {
    const a = await probe();
    await a.waitFor('waiting');
    const b = await probe();
    await a.waitFor('connected');
    b.close();
    await a.waitFor('waiting', 2);
    expect(a.types()).toEqual(['waiting', 'connected', 'disconnected', 'waiting']);
    const c = await probe();
    await a.waitFor('connected', 2);
    await c.waitFor('connected');
    c.sendAudio(frame(640, 7));
    await until(() => a.audio.length === 1, 'audio from the new partner');
  });

  it('a survivor of a coded pair waits for its code again and a newcomer with that code joins it', async () => {
    const [a, b, shared] = await pair();
    b.close();
    await a.waitFor('waiting', 2);
    const d = await probe({ pair: shared });
    await d.waitFor('connected');
    await a.waitFor('connected', 2);
  });

  it('both partners leaving at the same instant crashes nothing and leaves no ghost (the seed crashed)', async () => {
    for (let i = 0; i < 6; i++) {
      const [a, b] = await pair();
      // with audio in flight both ways, half cut the TCP connection, half close politely
      for (let j = 0; j < 5; j++) { a.sendAudio(frame(1920)); b.sendAudio(frame(1920)); }
      if (i % 2 === 0) { a.ws.terminate(); b.ws.terminate(); } else { a.close(); b.close(); }
    }
    await sleep(100);
    expect(await metric(server, 'callpeer_pcm_active_pairs')).toBe(0);
    expect(await metric(server, 'callpeer_pcm_waiting_clients')).toBe(0);
    // and the service still pairs
    const [a, b] = await pair();
    a.sendAudio(frame(960));
    await until(() => b.audio.length === 1, 'audio after the double leave');
  });

  it('keeps the waiting and paired gauges exact', async () => {
    const a = await probe();
    await a.waitFor('waiting');
    expect(await metric(server, 'callpeer_pcm_waiting_clients')).toBe(1);
    const b = await probe();
    await b.waitFor('connected');
    expect(await metric(server, 'callpeer_pcm_waiting_clients')).toBe(0);
    expect(await metric(server, 'callpeer_pcm_active_pairs')).toBe(1);
    a.close();
    await b.waitFor('waiting');
    expect(await metric(server, 'callpeer_pcm_active_pairs')).toBe(0);
    expect(await metric(server, 'callpeer_pcm_waiting_clients')).toBe(1);
  });
});

describe('frames', () => {
  it('forwards same-format audio byte for byte, in order, both ways', async () => {
    const [a, b] = await pair({ codec: 'pcm', rate: '16000' });
    const sent: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const f = Buffer.alloc(640 + 2 * i);
      for (let j = 0; j < f.length; j++) f[j] = (i * 31 + j) & 0xff;
      sent.push(f);
      a.sendAudio(f);
    }
    b.sendAudio(frame(320, 9));
    await until(() => b.audio.length === 20 && a.audio.length === 1, 'all frames');
    expect(b.audio).toEqual(sent);
    expect(a.audio[0]).toEqual(frame(320, 9));
    expect(await metric(server, 'callpeer_pcm_relayed_frames_total', { path: 'forward' })).toBeGreaterThanOrEqual(21);
  });

  it('drops frames sent while waiting: the partner hears only what came after pairing', async () => {
    const c = code();
    const a = await probe({ pair: c });
    await a.waitFor('waiting');
    a.sendAudio(frame(640, 1));
    a.sendAudio(frame(640, 2));
    await sleep(50);
    const b = await probe({ pair: c });
    await a.waitFor('connected');
    a.sendAudio(frame(640, 3));
    await until(() => b.audio.length >= 1, 'the frame after pairing');
    await sleep(50);
    expect(b.audio).toEqual([frame(640, 3)]);
  });

  it('ignores binary frames under 10 bytes', async () => {
    const [a, b] = await pair();
    a.sendAudio(frame(8));
    a.sendAudio(frame(1));
    a.sendAudio(frame(10, 5));
    await until(() => b.audio.length >= 1, 'the 10-byte frame');
    await sleep(50);
    expect(b.audio).toEqual([frame(10, 5)]);
    expect(a.types()).not.toContain('error');
  });

  it('refuses an odd byte count in pcm mode with INVALID_MESSAGE and keeps the socket', async () => {
    const [a, b] = await pair();
    a.sendAudio(frame(641));
    await a.waitFor('error');
    expect(a.last('error')).toMatchObject({ code: 'INVALID_MESSAGE' });
    a.sendAudio(frame(640, 4));
    await until(() => b.audio.length === 1, 'the next good frame');
    expect(b.audio[0]).toEqual(frame(640, 4));
    expect(a.isOpen).toBe(true);
  });

  it('accepts odd-length Opus packets', async () => {
    const [a, b] = await pair({ codec: 'opus' });
    a.sendAudio(frame(81, 3));
    await until(() => b.audio.length === 1, 'the packet');
    expect(a.types()).not.toContain('error');
  });

  it('answers a malformed text frame with INVALID_MESSAGE and keeps the socket', async () => {
    const [a] = await pair();
    for (const bad of ['not json', '{"type":"hello"}', '{"type":"mute","muted":"yes"}', '[1]']) a.sendJson(bad);
    await a.waitFor('error', 4);
    expect(a.messages.filter((m) => m.type === 'error').map((m) => m.code)).toEqual(Array(4).fill('INVALID_MESSAGE'));
    expect(a.isOpen).toBe(true);
  });

  it('relays mute to the partner as peer-muted, and tells a new partner at once', async () => {
    const [a, b, shared] = await pair();
    a.sendJson({ type: 'mute', muted: true });
    await b.waitFor('peer-muted');
    expect(b.last('peer-muted')).toEqual({ type: 'peer-muted', muted: true });
    a.sendJson({ type: 'mute', muted: false });
    await b.waitFor('peer-muted', 2);
    expect(b.last('peer-muted')).toEqual({ type: 'peer-muted', muted: false });
    expect(a.types()).not.toContain('peer-muted');
    // a client still muted from its last pair tells its next partner
    b.sendJson({ type: 'mute', muted: true });
    await a.waitFor('peer-muted');
    a.close();
    await b.waitFor('waiting');
    const c = await probe({ pair: shared });
    await c.waitFor('connected');
    await c.waitFor('peer-muted');
    expect(c.types()).toEqual(['connected', 'peer-muted']);
  });

  it('a frame over the 1 MiB limit closes that client with 1009 and its partner waits again', async () => {
    const [a, b] = await pair();
    a.sendAudio(Buffer.alloc(1024 * 1024 + 2));
    expect(await a.closed).toBe(1009);
    await b.waitFor('waiting');
    expect(b.types()).toEqual(['connected', 'disconnected', 'waiting']);
  });

  it('closes a client that keeps sending bad frames with 1008', async () => {
    const [a, b] = await pair();
    for (let i = 0; i < 60; i++) a.sendAudio(frame(11));
    expect(await a.closed).toBe(1008);
    await b.waitFor('waiting');
    expect(b.types()).toEqual(['connected', 'disconnected', 'waiting']);
  });

  it('good frames between bad ones do not wipe the slate: the client is still closed with 1008', async () => {
    const [a, b] = await pair();
    for (let i = 0; i < 60; i++) {
      a.sendAudio(frame(11)); // odd length: refused
      a.sendAudio(frame(20)); // 10 samples: fine
      a.sendJson({ type: 'mute', muted: false }); // fine
    }
    expect(await a.closed).toBe(1008);
    expect(a.count('error')).toBeGreaterThan(40);
    await b.waitFor('waiting');
  });

  it('a text frame that is not UTF-8 fails the connection with 1007 (RFC 6455) and its partner waits again', async () => {
    const [a, b] = await pair();
    a.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect(await a.closed).toBe(1007);
    await b.waitFor('waiting');
  });
});

describe('shutdown', () => {
  it('close() tells every client the server is going away with 1001', async () => {
    const local = await startTestServer();
    const a = await PcmProbe.open(local);
    const b = await PcmProbe.open(local);
    const c = await PcmProbe.open(local);
    await b.waitFor('connected');
    await c.waitFor('waiting');
    await local.close();
    expect(await Promise.all([a.closed, b.closed, c.closed])).toEqual([1001, 1001, 1001]);
    // nobody was told to wait for a new partner during the shutdown
    expect(a.types()).toEqual(['waiting', 'connected']);
  });
});
