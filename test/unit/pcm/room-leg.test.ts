import { describe, expect, it } from 'vitest';
import { LEG_FRAME_SAMPLES } from '../../../src/rooms/audio-leg.js';
import { Egress, type AudioSink } from '../../../src/pcm/egress.js';
import { PcmRoomLeg } from '../../../src/pcm/room-leg.js';
import { int16ToBytes } from '../../../src/media/pcm.js';

const sink: AudioSink = { bufferedAmount: 0, send: (_d, _o, cb) => cb() };
/** 20 ms of 48 kHz PCM whose every sample is `v`. */
const frame = (v: number) => Buffer.from(int16ToBytes(new Int16Array(LEG_FRAME_SAMPLES).fill(v)));

describe('PcmRoomLeg play queue', () => {
  it('gives the room one frame per tick after a 40 ms cushion, whatever the client frame size', () => {
    const leg = new PcmRoomLeg({ codec: 'pcm', rate: 48000 }, new Egress(sink));
    // 30 ms then 10 ms: two whole 20 ms frames.
    const pcm = Buffer.concat([frame(1), frame(2)]);
    leg.push(pcm.subarray(0, 2880));
    expect(leg.take()).toBeUndefined();
    leg.push(pcm.subarray(2880));
    expect(leg.take()?.[0]).toBe(1);
    expect(leg.take()?.[0]).toBe(2);
    expect(leg.take()).toBeUndefined();
    expect(leg.stats()).toMatchObject({ framesIn: 2, underruns: 1 });
  });

  it('holds at most --max-queue-ms of a client sending faster than real time: the newest audio, the rest dropped and counted', () => {
    const leg = new PcmRoomLeg({ codec: 'pcm', rate: 48000 }, new Egress(sink), { maxQueuedMs: 100 });
    for (let i = 1; i <= 50; i++) leg.push(frame(i)); // 1 s at once
    expect(leg.stats()).toMatchObject({ queueMs: 100, droppedMs: 900 });
    const heard = Array.from({ length: 6 }, () => leg.take()?.[0]);
    expect(heard).toEqual([46, 47, 48, 49, 50, undefined]);
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
