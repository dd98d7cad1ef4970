import { describe, expect, it } from 'vitest';
import { OpusDecoderStream } from '../../../src/media/opus.js';
import { PacketListSource, ToneSource } from '../../../src/media/opus-sources.js';

const packet = (n: number) => Buffer.from([n]);

describe('PacketListSource', () => {
  it('plays the packets in order, undefined as silence, then ends', () => {
    const s = new PacketListSource([packet(1), undefined, packet(3)]);
    expect([s.nextFrame(), s.nextFrame(), s.nextFrame()]).toEqual([packet(1), undefined, packet(3)]);
    expect(s.ended).toBe(true);
    expect(s.nextFrame()).toBeUndefined();
  });

  it('with loop starts over and never ends; an empty list is silence', () => {
    const s = new PacketListSource([packet(1), packet(2)], { loop: true });
    expect(Array.from({ length: 5 }, () => s.nextFrame())).toEqual([packet(1), packet(2), packet(1), packet(2), packet(1)]);
    expect(s.ended).toBe(false);
    const empty = new PacketListSource([], { loop: true });
    expect(empty.nextFrame()).toBeUndefined();
    expect(empty.ended).toBe(false);
  });
});

describe('ToneSource', () => {
  it('a 100 ms tone is five 20 ms Opus packets, then ends', () => {
    const s = new ToneSource(440, { durationMs: 100 });
    const dec = new OpusDecoderStream(48000);
    const frames: number[] = [];
    for (let i = 0; !s.ended; i++) frames.push(dec.decode(s.nextFrame()!).length);
    expect(frames).toEqual([960, 960, 960, 960, 960]);
    dec.release();
  });
});
