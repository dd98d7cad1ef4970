import { describe, expect, it } from 'vitest';
import { applyGain, bytesToInt16, downmixToMono, float32ToInt16, int16ToBytes, int16ToFloat32, mixInt16 } from '../../../src/media/pcm.js';

describe('pcm', () => {
  it('reads Int16 LE bytes byte-exactly and writes them back', () => {
    const bytes = Buffer.from([
      0x00, 0x00, // 0
      0x01, 0x00, // 1
      0xff, 0xff, // -1
      0xff, 0x7f, // 32767
      0x00, 0x80, // -32768
      0x34, 0x12, // 0x1234
    ]);
    const samples = bytesToInt16(bytes);
    expect(Array.from(samples)).toEqual([0, 1, -1, 32767, -32768, 0x1234]);
    expect(Buffer.compare(int16ToBytes(samples), bytes)).toBe(0);
  });

  it('reads a Buffer at an odd byteOffset without an alignment error', () => {
    const slab = Buffer.from([0xaa, 0x01, 0x00, 0xfe, 0xff]);
    const odd = slab.subarray(1);
    expect(odd.byteOffset % 2).toBe(1);
    expect(Array.from(bytesToInt16(odd))).toEqual([1, -2]);
  });

  it('refuses an odd byte count with PARSE_ERROR', () => {
    expect(() => bytesToInt16(Buffer.from([1, 2, 3]))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
  });

  it('converts Int16 <-> Float32 and saturates out-of-range floats', () => {
    const f = int16ToFloat32(Int16Array.of(-32768, 0, 16384));
    expect(Array.from(f)).toEqual([-1, 0, 0.5]);
    expect(Array.from(float32ToInt16(Float32Array.of(-1, 0.5, 1.5, -2, 0.25)))).toEqual([-32768, 16384, 32767, -32768, 8192]);
    expect(Array.from(float32ToInt16(int16ToFloat32(Int16Array.of(-7, 12345, 32767))))).toEqual([-7, 12345, 32767]);
  });

  it('downmixes stereo to mono by averaging', () => {
    expect(Array.from(downmixToMono(Int16Array.of(100, 300, -32768, -32768, 32767, 32767), 2))).toEqual([200, -32768, 32767]);
  });

  it('mixes with saturation and pads short inputs with silence', () => {
    expect(Array.from(mixInt16([Int16Array.of(30000, 5, 1), Int16Array.of(30000, -5)]))).toEqual([32767, 0, 1]);
    expect(Array.from(applyGain(Int16Array.of(1000, -20000), 2))).toEqual([2000, -32768]);
  });
});
