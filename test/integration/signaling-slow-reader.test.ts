import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Probe } from '../helpers/server.js';
import { sleep, spawnServer, type ChildServer } from './pcm-harness.js';

// The server runs in its own process so its memory is measured apart from the clients'.
let server: ChildServer;
let wsUrl: string;

beforeAll(async () => {
  server = await spawnServer();
  wsUrl = `${server.url.replace(/^http/, 'ws')}/ws`;
});
afterAll(() => server.close());

const MB = 1024 * 1024;
interface MemSample { rss: number; external: number }
const memory = async (): Promise<MemSample> => {
  const m = await server.scrape();
  return { rss: m.get('callpeer_process_resident_memory_bytes')!, external: m.get('callpeer_nodejs_external_memory_bytes')! };
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('a /ws client that stops reading', () => {
  it('is dropped (counted, the others told) before the server holds more than the send buffer limit for it', async () => {
    const room = 'slow-reader';
    const sender = await Probe.open(wsUrl);
    await sender.join(room);
    const reader = await Probe.open(wsUrl);
    const { id: readerId } = await reader.join(room);
    const slow = await Probe.open(wsUrl);
    const { id: slowId } = await slow.join(room);
    await sender.next('peer-joined');
    await sender.next('peer-joined');

    // The other member sends 40 offers a second of 45 KB each: under the rate and size limits.
    const sdp = `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=x-pad:${'x'.repeat(45_000)}\r\n`;
    const offerFor = async (to: string, ms: number) => {
      const samples: MemSample[] = [];
      const started = Date.now();
      let offers = 0;
      while (Date.now() - started < ms) {
        sender.send({ type: 'offer', to, sdp });
        if (++offers % 10 === 0) samples.push(await memory());
        await sleep(25);
      }
      return { samples, offers };
    };
    // Control: the same traffic to a member that reads it; what the server needs for the work.
    const control = await offerFor(readerId, 4000);

    // The slow member stops reading its socket, but keeps it alive with a frame every 2 s.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const keepAlive = setInterval(() => slow.send({ type: 'ping' }), 2000);
    const attack = await offerFor(slowId, 12_000);
    clearInterval(keepAlive);

    const dropped = (await server.scrape()).get('callpeer_ws_slow_readers_dropped_total');
    const left = await sender.next('peer-left', 1000);
    const growth = (k: keyof MemSample) => (median(attack.samples.slice(-8).map((m) => m[k])) - median(control.samples.slice(-8).map((m) => m[k]))) / MB;
    console.log(`slow reader: ${attack.offers} offers of 45 KB in 12 s (${((attack.offers * 45_000) / MB).toFixed(0)} MB), dropped ${dropped}, growth over the control: rss ${growth('rss').toFixed(1)} MB, external ${growth('external').toFixed(1)} MB`);

    expect(left.id).toBe(slowId);
    expect(dropped).toBe(1);
    // What is addressed to it after it left is refused, not queued.
    expect(sender.received.some((m) => m.type === 'error' && m.code === 'PEER_NOT_FOUND')).toBe(true);
    // Without the limit the server kept every offer: ~1.8 MB a second, 20 MB over this test
    // (the kernel's socket buffers take the first few MB, outside the process).
    expect(growth('rss')).toBeLessThan(8);
    expect(growth('external')).toBeLessThan(4);
    reader.close();
    sender.close();
    slow.close();
  });
});
