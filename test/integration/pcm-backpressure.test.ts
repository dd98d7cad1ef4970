import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PcmProbe, sleep, spawnServer, type ChildServer } from './pcm-harness.js';

// The server runs in its own process so its memory is measured apart from the clients'.
let server: ChildServer;

beforeAll(async () => {
  // Lifted: the talker's blast must reach the stalled receiver's queue (this file tests the egress
  // side; the real-time budget on arrival has its own test in pcm-flood.test.ts).
  server = await spawnServer({ maxBurstMs: 1e9 });
});
afterAll(() => server.close());

const FRAME_BYTES = 1920; // 20 ms of PCM at 48 kHz
/**
 * How long the talker sends as fast as it can: about 40 frames per ms here, so hours of audio,
 * far more than the kernel's socket buffers on loopback (a few MB) hold.
 */
const BLAST_MS = 10_000;

/** A pair under `code` plus a fresh suffix: a retried test must not find the first try's clients holding the code. */
async function pairOf(code: string): Promise<[PcmProbe, PcmProbe]> {
  const pair = `${code}-${Math.random().toString(36).slice(2, 8)}`;
  const a = await PcmProbe.open(server, { pair });
  const b = await PcmProbe.open(server, { pair });
  await a.waitFor('connected');
  await b.waitFor('connected');
  return [a, b];
}

interface MemSample { heapUsed: number; rss: number; external: number }

async function memory(): Promise<MemSample> {
  const m = await server.scrape();
  return {
    heapUsed: m.get('callpeer_nodejs_heap_size_used_bytes')!,
    rss: m.get('callpeer_process_resident_memory_bytes')!,
    external: m.get('callpeer_nodejs_external_memory_bytes')!,
  };
}

const dropped = async () => (await server.scrape()).get('callpeer_pcm_dropped_frames_total')!;

describe('a receiver that stops reading', () => {
  it('costs flat memory, drops its oldest audio (counted), and slows neither its partner nor other pairs', async () => {
    const [talker, stalled] = await pairOf('stall');
    const [p1, p2] = await pairOf('steady');
    // The stalled client stops reading its socket: the server's writes to it back up.
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const droppedBefore = await dropped();

    // The steady pair talks in real time, numbered frames, for the whole test.
    let steadySent = 0;
    const steady = setInterval(() => {
      const f = Buffer.alloc(FRAME_BYTES);
      f.writeUInt32LE(steadySent++, 0);
      p1.sendAudio(f);
    }, 20);

    const samples: MemSample[] = [];
    let scraping: Promise<void> = Promise.resolve();
    const sampler = setInterval(() => { scraping = memory().then((m) => { samples.push(m); }); }, 100);

    // The talker sends audio as fast as its own socket lets it.
    const frame = Buffer.alloc(FRAME_BYTES, 3);
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < BLAST_MS) {
      // at most 64 frames a turn, so this process's timers (the steady pair) still run
      for (let i = 0; i < 64 && talker.ws.bufferedAmount < 256 * 1024; i++) {
        talker.sendAudio(frame);
        sent++;
      }
      await new Promise((r) => setImmediate(r));
    }
    while (talker.ws.bufferedAmount > 0) await sleep(5);
    await sleep(300);
    const blastMs = Date.now() - started;
    clearInterval(steady);
    clearInterval(sampler);
    await scraping;
    await sleep(200);

    const droppedFrames = (await dropped()) - droppedBefore;
    // What the kernel buffers for the stalled socket is not dropped; the rest is.
    expect(sent).toBeGreaterThan(3000); // a minute of audio at least
    expect(droppedFrames).toBeGreaterThan(sent / 2);
    // The talker was never refused nor cut off.
    expect(talker.isOpen && stalled.isOpen).toBe(true);
    expect(talker.types()).toEqual(['waiting', 'connected']);
    // The other pair got every frame, in order.
    expect(p2.audio.length).toBe(steadySent);
    expect(p2.audio.map((f) => f.readUInt32LE(0))).toEqual([...Array(steadySent).keys()]);

    // Memory stays flat: after a first quarter of warm-up, the last quarter peaks no higher
    // than the second quarter plus GC noise. Without dropping, the server would hold
    // everything sent: tens of MB per second.
    const quarter = Math.floor(samples.length / 4);
    const peak = (xs: MemSample[], k: keyof MemSample) => Math.max(...xs.map((s) => s[k]));
    const early = samples.slice(quarter, 2 * quarter);
    const late = samples.slice(-quarter);
    const MB = 1024 * 1024;
    // RSS: the late quarter's lowest against the early one's median. The allocator keeps pages
    // after a burst (the blast can end with a one-off jump of ~30 MB while heap and external stay
    // flat: seen late enough in the run to move the late median); a server holding what it should
    // drop grows by tens of MB a second, so even the late quarter's lowest is far above.
    const median = (xs: MemSample[], k: keyof MemSample) => xs.map((s) => s[k]).sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const lowest = (xs: MemSample[], k: keyof MemSample) => Math.min(...xs.map((s) => s[k]));
    const growth = {
      heapUsedMB: (peak(late, 'heapUsed') - peak(early, 'heapUsed')) / MB,
      rssMB: (lowest(late, 'rss') - median(early, 'rss')) / MB,
      externalMB: (peak(late, 'external') - peak(early, 'external')) / MB,
    };
    console.log('server rss/heapUsed/external MB:', samples.map((s) => `${(s.rss / MB).toFixed(0)}/${(s.heapUsed / MB).toFixed(0)}/${(s.external / MB).toFixed(0)}`).join(' '));
    console.log(`blast ${sent} frames (${((sent * 20) / 60000).toFixed(1)} min of audio) in ${blastMs} ms, dropped ${droppedFrames}, steady pair ${steadySent} frames, samples ${samples.length}, growth`, growth);
    expect(growth.heapUsedMB).toBeLessThan(16);
    expect(growth.externalMB).toBeLessThan(24);
    // 40 MB: a CI run measured 24.4 with heap and external flat (allocator pages); holding
    // what should be dropped would add hundreds of MB over the late quarter.
    expect(growth.rssMB).toBeLessThan(40);

    // Once it reads again, the stalled client gets audio again and is still paired.
    (stalled.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const had = stalled.audio.length;
    talker.sendAudio(frame);
    await sleep(500);
    expect(stalled.audio.length).toBeGreaterThan(had);
    for (const p of [talker, stalled, p1, p2]) p.close();
  }, 60_000);
});
