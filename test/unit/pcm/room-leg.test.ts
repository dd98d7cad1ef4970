import { describe, expect, it } from 'vitest';
import { LEG_FRAME_SAMPLES } from '../../../src/rooms/audio-leg.js';
import { Egress, type AudioSink } from '../../../src/pcm/egress.js';
import { PcmRoomLeg } from '../../../src/pcm/room-leg.js';
import { int16ToBytes } from '../../../src/media/pcm.js';
import { Resampler } from '../../../src/media/resample.js';
import { ToneFrames } from '../../../src/media/frames.js';
import { SharedFrame } from '../../../src/rooms/audio-leg.js';

const sink: AudioSink = { bufferedAmount: 0, send: (_d, _o, cb) => cb() };
/** 20 ms of 48 kHz PCM whose every sample is `v`. */
const frame = (v: number) => Buffer.from(int16ToBytes(new Int16Array(LEG_FRAME_SAMPLES).fill(v)));

describe('PcmRoomLeg play queue', () => {
  it('gives the room one frame per tick after a 40 ms cushion, whatever the client frame size', () => {
    const leg = new PcmRoomLeg({ codec: 'pcm', rate: 48000 }, new Egress(sink));
    // 30 ms then 10 ms: two whole 20 ms frames.
    const pcm = Buffer.concat([frame(1001), frame(1002)]);
    leg.push(pcm.subarray(0, 2880));
    expect(leg.take()).toBeUndefined();
    leg.push(pcm.subarray(2880));
    expect(leg.take()?.[0]).toBe(1001);
    expect(leg.take()?.[0]).toBe(1002);
    expect(leg.take()).toBeUndefined();
    expect(leg.stats()).toMatchObject({ framesIn: 2, underruns: 1 });
  });

  it('holds at most --max-queue-ms of a client sending faster than real time: the newest audio, the rest dropped and counted', () => {
    const leg = new PcmRoomLeg({ codec: 'pcm', rate: 48000 }, new Egress(sink), { maxQueuedMs: 100 });
    for (let i = 1; i <= 50; i++) leg.push(frame(1000 + i)); // 1 s at once
    expect(leg.stats()).toMatchObject({ queueMs: 100, droppedMs: 900 });
    const heard = Array.from({ length: 6 }, () => leg.take()?.[0]);
    expect(heard).toEqual([1046, 1047, 1048, 1049, 1050, undefined]);
  });

  it('drains a backlog left by a burst back to the cushion during quiet frames, but leaves a brief one', () => {
    const leg = new PcmRoomLeg({ codec: 'pcm', rate: 48000 }, new Egress(sink));
    // A client whose frames reached us 140 ms late in one burst: 7 quiet frames beyond the cushion.
    for (let i = 0; i < 9; i++) leg.push(frame(0));
    const queued: number[] = [];
    for (let tick = 0; tick < 20; tick++) {
      leg.push(frame(0)); // and then real time
      leg.take();
      queued.push(leg.stats().queueMs);
    }
    // The first 4 ticks (80 ms) leave it; then a quiet frame is skipped every tick until 40 ms remain.
    expect(queued.slice(0, 4)).toEqual([180, 180, 180, 180]);
    expect(queued.slice(4, 12)).toEqual([160, 140, 120, 100, 80, 60, 40, 40]);
    expect(queued.at(-1)).toBe(40);
    expect(leg.stats().droppedMs).toBe(140);
  });

  it('skips speech to drain a backlog only after a second of it, one frame a second', () => {
    const leg = new PcmRoomLeg({ codec: 'pcm', rate: 48000 }, new Egress(sink));
    for (let i = 0; i < 4; i++) leg.push(frame(5000)); // 40 ms beyond the cushion
    const dropped: number[] = [];
    for (let tick = 0; tick < 120; tick++) {
      leg.push(frame(5000));
      expect(leg.take()?.[0]).toBe(5000);
      dropped.push(leg.stats().droppedMs);
    }
    expect(dropped[48]).toBe(0);
    expect(dropped[49]).toBe(20);
    expect(dropped[98]).toBe(20);
    expect(dropped[99]).toBe(40);
    expect(leg.stats().queueMs).toBe(40);
  });
});

/** `n` samples of a phone line's noise at about -60 dBFS (uniform, ±57): under the voice gate. */
function lineNoise(n: number, seed = 1): Int16Array {
  const out = new Int16Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = (x % 115) - 57;
  }
  return out;
}

describe('PcmRoomLeg voice gate', () => {
  const bytes = (s: Int16Array) => Buffer.from(int16ToBytes(s));

  it('gives the room nothing for a line\'s noise, but its time still passes in the queue (cushion, no underruns)', () => {
    const leg = new PcmRoomLeg({ codec: 'pcm', rate: 8000 }, new Egress(sink));
    for (let i = 0; i < 3; i++) leg.push(bytes(lineNoise(160, i + 1)));
    expect(leg.stats().queueMs).toBe(60);
    for (let tick = 0; tick < 50; tick++) {
      leg.push(bytes(lineNoise(160, tick + 9)));
      expect(leg.take()).toBeUndefined();
    }
    expect(leg.stats()).toMatchObject({ framesIn: 53, underruns: 0 });
    expect(leg.stats().queueMs).toBeLessThanOrEqual(60);
  });

  it('passes speech from its first frame, resampled as without the gate, and keeps 300 ms after it before closing', () => {
    const gated = new PcmRoomLeg({ codec: 'pcm', rate: 8000 }, new Egress(sink));
    const tone = new ToneFrames(440, 8000, { amplitude: 0.1 });
    const reference = new Resampler(8000, 48000);
    // 200 ms of noise, then 100 ms of a tone at -20 dBFS, then noise again.
    const chunks = [
      ...Array.from({ length: 10 }, (_, i) => lineNoise(160, i + 1)),
      ...Array.from({ length: 5 }, () => tone.nextFrame()!.slice()),
      ...Array.from({ length: 30 }, (_, i) => lineNoise(160, i + 40)),
    ];
    const heard: (Int16Array | undefined)[] = [];
    for (const c of chunks) {
      gated.push(bytes(c));
      heard.push(gated.take()?.slice());
    }
    // Every chunk played one tick apart after the 2-frame cushion: chunk k is heard at tick k + 1.
    const voiced = heard.map((f) => f !== undefined);
    const first = voiced.indexOf(true);
    expect(first).toBe(11);
    // Voice for the tone's 5 frames and the 15 frames (300 ms) of hangover, then nothing.
    expect(voiced.slice(first, first + 20).every(Boolean)).toBe(true);
    expect(voiced.slice(first + 20).some(Boolean)).toBe(false);
    // The tone's frames are the resampler's output for it (its history started on the tone: the
    // gate kept everything before out), within the first frame's few samples of filter settling.
    const expected = reference.process(Int16Array.from(chunks.slice(10, 15).flatMap((c) => [...c])));
    const got = Int16Array.from(heard.slice(first, first + 5).flatMap((f) => [...f!]));
    let worst = 0;
    for (let i = 200; i < expected.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('counts gated time exactly whatever the chunk length: 7-sample chunks at 8 kHz make one 20 ms frame per 160 samples', () => {
    const leg = new PcmRoomLeg({ codec: 'pcm', rate: 8000 }, new Egress(sink), { maxQueuedMs: 10_000 });
    const noise = lineNoise(7 * 1000);
    for (let i = 0; i < 1000; i++) leg.push(bytes(noise.subarray(7 * i, 7 * i + 7)));
    expect(leg.stats().queueMs).toBe(Math.floor(7000 / 160) * 20);
  });
});

describe('PcmRoomLeg shared mix', () => {
  it('legs of one format handed the same SharedFrame send the same converted frame, made once; other formats their own', () => {
    const sent: Buffer[][] = [[], [], []];
    const sinkOf = (i: number): AudioSink => ({ bufferedAmount: 0, send: (d, _o, cb) => { sent[i]!.push(d); cb(); } });
    const legs = [
      new PcmRoomLeg({ codec: 'pcm', rate: 8000 }, new Egress(sinkOf(0))),
      new PcmRoomLeg({ codec: 'pcm', rate: 8000 }, new Egress(sinkOf(1))),
      new PcmRoomLeg({ codec: 'pcm', rate: 16000 }, new Egress(sinkOf(2))),
    ];
    const shared = new SharedFrame();
    const tone = new ToneFrames(600, 48000, { amplitude: 0.2 });
    const ownOut: Buffer[] = [];
    const ownSink: AudioSink = { bufferedAmount: 0, send: (d, _o, cb) => { ownOut.push(d); cb(); } };
    const alone = new PcmRoomLeg({ codec: 'pcm', rate: 8000 }, new Egress(ownSink));
    for (let tick = 0; tick < 5; tick++) {
      const mix = tone.nextFrame()!;
      shared.tick++;
      for (const leg of legs) leg.play(mix, shared);
      alone.play(mix);
    }
    expect(sent[0]!.length).toBe(5);
    for (let k = 0; k < 5; k++) {
      expect(sent[1]![k]).toBe(sent[0]![k]); // the same Buffer: converted once
      expect(sent[0]![k]!.length).toBe(320);
      expect(sent[2]![k]!.length).toBe(640);
      expect(sent[0]![k]!.equals(ownOut[k]!)).toBe(true); // what a leg's own conversion makes
    }
    expect(legs.map((l) => l.stats().framesOut)).toEqual([5, 5, 5]);
    shared.close();
    for (const leg of [...legs, alone]) leg.close();
  });
});
