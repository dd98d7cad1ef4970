/** A PCM pair and its peers over fake sockets: relaying, transcoding, mute, the real-time budget. */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { silentLogger } from '../../../src/log.js';
import { OpusEncoderStream } from '../../../src/media/opus.js';
import { PcmMetrics } from '../../../src/pcm/metrics.js';
import { PcmPeer } from '../../../src/pcm/peer.js';
import { PcmSession } from '../../../src/pcm/session.js';
import type { PcmParams } from '../../../src/protocol/pcm.js';
import { TokenBucket } from '../../../src/time/token-bucket.js';

/** A socket that takes every write at once and keeps what was sent. */
class FakeSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly json: any[] = [];
  readonly audio: Buffer[] = [];
  send(data: string | Buffer, _opts?: unknown, cb?: (err?: Error) => void): void {
    if (typeof data === 'string') this.json.push(JSON.parse(data));
    else this.audio.push(data);
    if (cb) queueMicrotask(() => cb());
  }
}

function peer(id: string, params: PcmParams, maxBurstMs = 1000) {
  const ws = new FakeSocket();
  const p = new PcmPeer(id, ws as unknown as WebSocket, params, { maxQueuedMs: 200, maxBufferedBytes: 16_384, onDrop: () => {} }, new TokenBucket(0.1, 50), maxBurstMs);
  return { ws, p };
}

function pair(pa: PcmParams, pb: PcmParams) {
  const a = peer('a', pa);
  const b = peer('b', pb);
  const metrics = new PcmMetrics(new Registry());
  const session = new PcmSession('s1', a.p, b.p, metrics, silentLogger());
  session.start();
  return { a, b, session, metrics };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('PcmSession', () => {
  it('tells each side it is paired with the format it will receive, and the partner\'s mute', () => {
    const a = peer('a', { codec: 'pcm', rate: 16000 });
    a.p.muted = true;
    const b = peer('b', { codec: 'opus', rate: 48000 });
    new PcmSession('s', a.p, b.p, new PcmMetrics(new Registry()), silentLogger()).start();
    expect(a.ws.json).toEqual([{ type: 'connected', codec: 'pcm', sampleRate: 16000, channels: 1, frameMs: 20 }]);
    expect(b.ws.json).toEqual([
      { type: 'connected', codec: 'opus', sampleRate: 48000, channels: 1, frameMs: 20 },
      { type: 'peer-muted', muted: true },
    ]);
  });

  it('forwards same-format audio byte for byte, both ways, counted as forwarded', async () => {
    const { a, b, session, metrics } = pair({ codec: 'pcm', rate: 48000 }, { codec: 'pcm', rate: 48000 });
    const fa = Buffer.alloc(1920, 1);
    const fb = Buffer.alloc(1920, 2);
    session.relay(a.p, fa, 20);
    session.relay(b.p, fb, 20);
    await flush();
    expect(b.ws.audio).toEqual([fa]);
    expect(a.ws.audio).toEqual([fb]);
    expect(metrics.forwarded).toBe(2);
  });

  it('resamples PCM between rates: 20 ms at 8 kHz arrives as 20 ms at 48 kHz', async () => {
    const { a, b, session, metrics } = pair({ codec: 'pcm', rate: 8000 }, { codec: 'pcm', rate: 48000 });
    for (let i = 0; i < 5; i++) session.relay(a.p, Buffer.alloc(320, 0), 20);
    await flush();
    const bytes = b.ws.audio.reduce((n, f) => n + f.length, 0);
    // the resampler holds back a few samples; all but those arrive
    expect(bytes).toBeGreaterThan(4 * 1920);
    expect(bytes).toBeLessThanOrEqual(5 * 1920);
    expect(metrics.transcoded).toBe(b.ws.audio.length);
  });

  it('decodes Opus for a PCM receiver; a packet that is not Opus is refused (INVALID_MESSAGE)', async () => {
    const { a, b, session } = pair({ codec: 'opus', rate: 48000 }, { codec: 'pcm', rate: 16000 });
    const enc = new OpusEncoderStream(48000);
    const packet = enc.encode(new Int16Array(960));
    enc.release();
    session.relay(a.p, packet, 20);
    await flush();
    expect(b.ws.audio.map((f) => f.length)).toEqual([640]); // 20 ms at 16 kHz
    expect(() => session.relay(a.p, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 20)).toThrow(expect.objectContaining({ code: 'INVALID_MESSAGE' }));
    session.close();
  });

  it('relays mute to the partner, and nothing after close', async () => {
    const { a, b, session } = pair({ codec: 'pcm', rate: 48000 }, { codec: 'pcm', rate: 48000 });
    session.mute(a.p, true);
    expect(b.ws.json.at(-1)).toEqual({ type: 'peer-muted', muted: true });
    session.close();
    session.relay(a.p, Buffer.alloc(1920), 20);
    session.mute(a.p, false);
    await flush();
    expect(b.ws.audio).toEqual([]);
    expect(b.ws.json.at(-1)).toEqual({ type: 'peer-muted', muted: true });
  });
});

describe('PcmPeer', () => {
  it('reads a frame\'s duration: PCM by its length and rate, Opus by its TOC, 20 ms if unreadable', () => {
    expect(peer('p', { codec: 'pcm', rate: 8000 }).p.frameMs(Buffer.alloc(320))).toBe(20);
    expect(peer('p', { codec: 'pcm', rate: 48000 }).p.frameMs(Buffer.alloc(19_200))).toBe(200);
    const opus = peer('p', { codec: 'opus', rate: 48000 }).p;
    expect(opus.frameMs(Buffer.from([(19 << 3) | 0, 0]))).toBe(20); // CELT 20 ms, one frame
    expect(opus.frameMs(Buffer.from([(19 << 3) | 3, 6]))).toBe(120); // six 20 ms frames
    expect(opus.frameMs(Buffer.from([(19 << 3) | 3, 0]))).toBe(20); // malformed: zero frames
  });

  it('admits audio in real time: frames over 200 ms never, a burst up to the budget, then as time refills it', async () => {
    const { p } = peer('p', { codec: 'pcm', rate: 48000 }, 100);
    expect(p.admitAudio(201)).toBe(false);
    expect([20, 20, 20, 20, 20, 20].map((ms) => p.admitAudio(ms))).toEqual([true, true, true, true, true, false]);
    await new Promise((r) => setTimeout(r, 45));
    expect(p.admitAudio(20)).toBe(true);
    expect(p.admitAudio(20)).toBe(true);
  });

  it('tells its client about dropped audio at most once a second', () => {
    const { ws, p } = peer('p', { codec: 'pcm', rate: 48000 });
    p.noticeOverrun(10_000);
    p.noticeOverrun(10_500);
    p.noticeOverrun(11_000);
    expect(ws.json.map((m) => [m.type, m.code])).toEqual([['error', 'RATE_LIMITED'], ['error', 'RATE_LIMITED']]);
  });
});
