import { describe, expect, it } from 'vitest';
import { parseVp8Descriptor, rewriteVp8Descriptor, vp8DescriptorLength, vp8KeyframeSize } from '../../../src/media/vp8.js';

describe('VP8 payload descriptor', () => {
  it('measures the descriptor with and without the optional fields', () => {
    expect(vp8DescriptorLength(Buffer.from([0x10, 0x9d]))).toBe(1); // S only
    expect(vp8DescriptorLength(Buffer.from([0x90, 0x80, 0x05, 0xaa]))).toBe(3); // X, I, 7-bit PictureID
    expect(vp8DescriptorLength(Buffer.from([0x90, 0x80, 0x85, 0x01, 0xaa]))).toBe(4); // 15-bit PictureID
    expect(vp8DescriptorLength(Buffer.from([0x90, 0xf0, 0x85, 0x01, 0x07, 0x40, 0xaa]))).toBe(6); // I, L, T, K
  });

  it('a truncated descriptor is PARSE_ERROR', () => {
    expect(() => vp8DescriptorLength(Buffer.from([0x90]))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
    expect(() => vp8DescriptorLength(Buffer.from([0x90, 0x80, 0x85]))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
  });

  it('reads a key frame size; an inter frame has none', () => {
    //                         tag (P=0)         start code         width 640    height 480
    const key = Buffer.from([0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]);
    expect(vp8KeyframeSize(key)).toEqual({ width: 640, height: 480 });
    expect(vp8KeyframeSize(Buffer.from([0x51, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]))).toBeUndefined();
  });
});

describe('VP8 descriptor parse and rewrite (what the SFU changes on a layer switch)', () => {
  // As Chrome sends a simulcast layer: X, then I (15-bit picture id 0x1234), L (TL0PICIDX 0x07),
  // T (TID 2, Y=1); S=1 PID=0; payload starts with a key frame tag (P bit 0).
  const chrome = () => Buffer.from([0x90, 0xe0, 0x92, 0x34, 0x07, 0xa0, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a]);

  it('reads every field of a full descriptor', () => {
    expect(parseVp8Descriptor(chrome())).toEqual({
      length: 6, start: true, partitionIndex: 0, pictureId: 0x1234, pictureIdBits: 15, tl0PicIdx: 7,
      temporalId: 2, layerSync: true, keyIdx: undefined, keyframe: true,
    });
  });

  it('a continuation packet or an inter frame is not a key frame', () => {
    const cont = chrome();
    cont[0] = 0x80; // S=0
    expect(parseVp8Descriptor(cont).keyframe).toBe(false);
    const inter = chrome();
    inter[6] = 0x51; // P bit set
    expect(parseVp8Descriptor(inter).keyframe).toBe(false);
    expect(parseVp8Descriptor(Buffer.from([0x10, 0x50])).keyframe).toBe(true); // no extensions at all
    expect(parseVp8Descriptor(Buffer.from([0x10])).keyframe).toBe(false); // descriptor only: no frame tag to read
  });

  it('a 7-bit picture id and a KEYIDX without T', () => {
    expect(parseVp8Descriptor(Buffer.from([0x80, 0x90, 0x7f, 0x05, 0x00]))).toMatchObject({
      length: 4, start: false, pictureId: 0x7f, pictureIdBits: 7, tl0PicIdx: undefined, temporalId: undefined, keyIdx: 5,
    });
  });

  it('rewrites the 15-bit picture id and TL0PICIDX in place, byte for byte, leaving the rest', () => {
    const p = chrome();
    rewriteVp8Descriptor(p, parseVp8Descriptor(p), 0x7fff + 3, 0x1ff);
    expect([...p]).toEqual([0x90, 0xe0, 0x80, 0x02, 0xff, 0xa0, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a]); // wrapped to 2 and 0xff
  });

  it('a 7-bit picture id stays 7 bits wide', () => {
    const p = Buffer.from([0x90, 0xc0, 0x10, 0x03, 0x50]);
    rewriteVp8Descriptor(p, parseVp8Descriptor(p), 0x85, 4);
    expect([...p]).toEqual([0x90, 0xc0, 0x05, 0x04, 0x50]);
  });

  it('a descriptor without the fields is untouched', () => {
    const p = Buffer.from([0x10, 0x50, 0x42]);
    rewriteVp8Descriptor(p, parseVp8Descriptor(p), 99, 99);
    expect([...p]).toEqual([0x10, 0x50, 0x42]);
  });
});
