import { describe, expect, it } from 'vitest';
import { vp8DescriptorLength, vp8KeyframeSize } from '../../../src/media/vp8.js';

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
