import { describe, expect, it } from 'vitest';
import { h264StartsKeyframe } from '../../../src/media/h264.js';

describe('h264StartsKeyframe', () => {
  it('finds an IDR or SPS in a single NAL unit', () => {
    expect(h264StartsKeyframe(Uint8Array.of(0x65, 0x88))).toBe(true); // nal_ref_idc 3, type 5
    expect(h264StartsKeyframe(Uint8Array.of(0x67, 0x42))).toBe(true); // SPS
    expect(h264StartsKeyframe(Uint8Array.of(0x41, 0x9a))).toBe(false); // non-IDR slice
    expect(h264StartsKeyframe(Uint8Array.of())).toBe(false);
  });

  it('reads FU-A start fragments only', () => {
    expect(h264StartsKeyframe(Uint8Array.of(0x7c, 0x85, 0x00))).toBe(true); // FU-A, S=1, IDR
    expect(h264StartsKeyframe(Uint8Array.of(0x7c, 0x05, 0x00))).toBe(false); // middle fragment
    expect(h264StartsKeyframe(Uint8Array.of(0x7c, 0x81, 0x00))).toBe(false); // start of a P slice
    expect(h264StartsKeyframe(Uint8Array.of(0x7c))).toBe(false);
  });

  it('looks into every NAL unit of a STAP-A', () => {
    // STAP-A: SEI (6) of 2 bytes, then SPS of 3 bytes
    expect(h264StartsKeyframe(Uint8Array.of(0x78, 0x00, 0x02, 0x06, 0x01, 0x00, 0x03, 0x67, 0x42, 0x00))).toBe(true);
    expect(h264StartsKeyframe(Uint8Array.of(0x78, 0x00, 0x02, 0x06, 0x01, 0x00, 0x02, 0x41, 0x00))).toBe(false);
    expect(h264StartsKeyframe(Uint8Array.of(0x78, 0x00, 0x00, 0x65))).toBe(false); // zero size: malformed
  });
});
