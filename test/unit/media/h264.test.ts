import { describe, expect, it } from 'vitest';
import { h264StartsAccessUnit, h264StartsKeyframe } from '../../../src/media/h264.js';

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

describe('h264StartsAccessUnit', () => {
  it('a slice with first_mb_in_slice 0 (top bit after the header set), an AUD, SEI, SPS or PPS starts one', () => {
    expect(h264StartsAccessUnit(Uint8Array.of(0x41, 0x9a))).toBe(true); // P slice, first_mb 0
    expect(h264StartsAccessUnit(Uint8Array.of(0x41, 0x3a))).toBe(false); // P slice, first_mb 1 (ue 010)
    expect(h264StartsAccessUnit(Uint8Array.of(0x65, 0x88))).toBe(true);
    expect(h264StartsAccessUnit(Uint8Array.of(0x09, 0xf0))).toBe(true); // AUD
    expect(h264StartsAccessUnit(Uint8Array.of(0x06))).toBe(true); // SEI
    expect(h264StartsAccessUnit(Uint8Array.of(0x68, 0xce))).toBe(true); // PPS
    expect(h264StartsAccessUnit(Uint8Array.of(0x0c, 0xff))).toBe(false); // filler data
    expect(h264StartsAccessUnit(Uint8Array.of(0x41))).toBe(false); // too short to tell
    expect(h264StartsAccessUnit(Uint8Array.of())).toBe(false);
  });

  it('looks at a FU-A start fragment\'s unit and a STAP-A\'s first unit', () => {
    expect(h264StartsAccessUnit(Uint8Array.of(0x7c, 0x85, 0x88))).toBe(true); // FU-A S, IDR, first_mb 0
    expect(h264StartsAccessUnit(Uint8Array.of(0x7c, 0x05, 0x88))).toBe(false); // middle fragment
    expect(h264StartsAccessUnit(Uint8Array.of(0x5c, 0x81, 0x3a))).toBe(false); // FU-A S, P slice, first_mb 1
    expect(h264StartsAccessUnit(Uint8Array.of(0x78, 0x00, 0x02, 0x67, 0x42))).toBe(true); // STAP-A: SPS first
    expect(h264StartsAccessUnit(Uint8Array.of(0x78, 0x00))).toBe(false);
  });
});
