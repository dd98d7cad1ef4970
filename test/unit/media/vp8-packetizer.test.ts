import { describe, expect, it } from 'vitest';
import { parseVp8Descriptor, Vp8Depacketizer, type Vp8Frame } from '../../../src/media/vp8.js';
import { packetizeVp8 } from '../../../src/media/vp8-packetizer.js';

describe('packetizeVp8', () => {
  it('writes the descriptor byte for byte and splits at maxPayload', () => {
    const frame = Buffer.from([0x50, 1, 2, 3, 4, 5, 6, 7]);
    const [a, b] = packetizeVp8(frame, 0x1234, 0x107, 10);
    expect(a!.toString('hex')).toBe('90c0923407' + '5001020304');
    expect(b!.toString('hex')).toBe('80c0923407' + '050607');
    expect(parseVp8Descriptor(a!)).toMatchObject({ start: true, keyframe: true, pictureId: 0x1234, tl0PicIdx: 7 });
    expect(parseVp8Descriptor(b!)).toMatchObject({ start: false, keyframe: false });
  });

  it('round-trips through the depacketizer the recorder uses', () => {
    const frames: Vp8Frame[] = [];
    const d = new Vp8Depacketizer((f) => frames.push(f));
    const key = Buffer.alloc(3000, 7);
    key[0] = 0x50;
    const payloads = packetizeVp8(key, 1, 1);
    expect(payloads).toHaveLength(3);
    payloads.forEach((payload, i) => d.push({ sequenceNumber: 100 + i, timestamp: 9000, marker: i === payloads.length - 1, payload }));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data.equals(key)).toBe(true);
    expect(() => packetizeVp8(key, 0, 0, 5)).toThrow(TypeError);
  });

  it('the depacketizer skips padding-only packets, and a whole frame lost between two others stops frames until a key frame', () => {
    const frames: Vp8Frame[] = [];
    let asked = 0;
    const d = new Vp8Depacketizer((f) => frames.push(f), () => { asked++; });
    const key = Buffer.from([0x50, 1, 2]); // P bit clear: key frame
    const delta = Buffer.from([0x51, 1, 2]);
    const send = (frame: Buffer, seq: number) => d.push({ sequenceNumber: seq, timestamp: seq * 3000, marker: true, payload: packetizeVp8(frame, seq, seq)[0]! });
    send(key, 1);
    d.push({ sequenceNumber: 2, timestamp: 3000, marker: false, payload: new Uint8Array(0) }); // padding
    send(delta, 3);
    send(delta, 5); // 4 never came
    send(key, 6);
    expect(frames.map((f) => f.timestamp / 3000)).toEqual([1, 3, 6]);
    expect(asked).toBeGreaterThanOrEqual(1);
    expect(d.stats).toMatchObject({ frames: 3, dropped: 2, malformed: 0 });
  });
});
