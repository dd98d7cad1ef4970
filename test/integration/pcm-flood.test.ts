import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PcmProbe, sleep, spawnServer, until, type ChildServer } from './pcm-harness.js';

// The server runs in its own process so the CPU a flood costs it is its own.
let server: ChildServer;

beforeAll(async () => {
  server = await spawnServer();
});
afterAll(() => server.close());

const MiB = 1024 * 1024;
const STEADY_FRAME = 1920; // 20 ms at 48 kHz

/** A zero mask makes ws skip masking: the attacker's 5 MiB cost this process (which times the steady pair) nothing. */
const UNMASKED = { generateMask: (mask: Buffer) => { mask.fill(0); } };

async function pairOf(code: string, a: Record<string, string> = {}, b: Record<string, string> = {}): Promise<[PcmProbe, PcmProbe]> {
  const pa = await PcmProbe.open(server, { pair: code, ...a }, UNMASKED);
  const pb = await PcmProbe.open(server, { pair: code, ...b });
  await pa.waitFor('connected');
  await pb.waitFor('connected');
  return [pa, pb];
}

const overrun = async () => (await server.scrape()).get('callpeer_pcm_overrun_frames_total')!;
const egressDrops = async () => (await server.scrape()).get('callpeer_pcm_dropped_frames_total')!;

/** A pair talking in real time; the receiver notes each frame's arrival time. */
async function steadyPair(code: string) {
  const [talker, listener] = await pairOf(code);
  const arrivals: number[] = [];
  listener.ws.on('message', (_d, isBinary) => { if (isBinary) arrivals.push(performance.now()); });
  const timer = setInterval(() => talker.sendAudio(Buffer.alloc(STEADY_FRAME, 1)), 20);
  /** 99th percentile of the gaps between frames that arrived after `from` (ms). */
  const gapP99 = (from: number) => {
    const ts = arrivals.filter((t) => t >= from);
    const gaps = ts.slice(1).map((t, i) => t - ts[i]!).sort((x, y) => x - y);
    return gaps[Math.floor(gaps.length * 0.99)] ?? Infinity;
  };
  return { talker, listener, gapP99, stop: () => clearInterval(timer) };
}

describe('audio sent faster than real time', () => {
  it('five 1 MiB frames at 8 kHz to a 48 kHz partner are dropped unheard: bounded CPU, counted, other pairs on time', async () => {
    const steady = await steadyPair('flood-steady');
    await sleep(1500);
    const quietFrom = performance.now();
    await sleep(1500);
    const normalP99 = steady.gapP99(quietFrom);

    const [attacker, partner] = await pairOf('flood-1', { rate: '8000' }, { rate: '48000' });
    const overrunBefore = await overrun();
    const cpuBefore = server.cpuSeconds().total;
    const floodFrom = performance.now();
    // 1 MiB of 8 kHz PCM is 65 s of audio: resampled to 48 kHz it cost ~186 ms of CPU each.
    for (let i = 0; i < 5; i++) attacker.sendAudio(Buffer.alloc(MiB, 7));
    await until(() => attacker.count('error') >= 1, 'the RATE_LIMITED notice');
    // /healthz answers at once while the frames arrive.
    const t0 = performance.now();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const healthMs = performance.now() - t0;
    await until(() => attacker.ws.bufferedAmount === 0, 'the flood sent', 5000);
    await sleep(1500);
    const cpuMs = (server.cpuSeconds().total - cpuBefore) * 1000;
    const floodP99 = steady.gapP99(floodFrom);
    steady.stop();
    console.log(`flood: server CPU ${cpuMs.toFixed(0)} ms for 5 MiB (and 1.5 s of a steady pair), /healthz ${healthMs.toFixed(1)} ms, steady gap p99 ${normalP99.toFixed(1)} -> ${floodP99.toFixed(1)} ms`);

    expect((await overrun()) - overrunBefore).toBe(5);
    expect(partner.audio.length).toBe(0);
    expect(attacker.last('error')).toMatchObject({ code: 'RATE_LIMITED' });
    expect(attacker.count('error')).toBe(1); // one notice a second, not one per frame
    expect(attacker.isOpen).toBe(true);
    // Reading 5 MiB off a socket costs a few ms; resampling it cost ~930 ms.
    expect(cpuMs).toBeLessThan(250);
    expect(healthMs).toBeLessThan(200);
    // The steady pair's frames keep their pace: p99 of the gaps within its normal p99 + 60 ms
    // (other test files share the two cores); resampling the flood stalled it ~190 ms a frame.
    expect(floodP99).toBeLessThan(normalP99 + 60);

    // Audio in real time passes again: the partner hears it.
    for (let i = 0; i < 5; i++) attacker.sendAudio(Buffer.alloc(320, 1)); // 20 ms at 8 kHz each
    await until(() => partner.audio.length >= 5, 'real-time audio after the flood');
    for (const p of [attacker, partner, steady.talker, steady.listener]) p.close();
  });

  it('a backlog within the 5 s burst passes whole; beyond it, frames are dropped and counted', async () => {
    const [talker, listener] = await pairOf('flood-2');
    const overrunBefore = await overrun();
    const egressDropsBefore = await egressDrops();
    // 200 frames = 4 s of audio at once: a stall's backlog, all heard.
    for (let i = 0; i < 200; i++) talker.sendAudio(Buffer.alloc(STEADY_FRAME, 2));
    await until(() => listener.audio.length === 200, '200 frames');
    await sleep(4000); // the budget refills
    // 500 frames = 10 s of audio at once: about 5 s of it passes, the rest is dropped unheard.
    const sent = 500;
    for (let i = 0; i < sent; i++) talker.sendAudio(Buffer.alloc(STEADY_FRAME, 3));
    await sleep(500);
    const heard = listener.audio.length - 200;
    const dropped = (await overrun()) - overrunBefore;
    const lostOnTheWayOut = (await egressDrops()) - egressDropsBefore; // a slow receiver's queue: none expected here
    expect(heard + lostOnTheWayOut).toBeGreaterThanOrEqual(245);
    expect(heard + lostOnTheWayOut).toBeLessThanOrEqual(290);
    expect(heard + lostOnTheWayOut + dropped).toBe(sent);
    expect(talker.isOpen).toBe(true);
    talker.close();
    listener.close();
  });
});
