/**
 * What an SFU and a recorder need to know of H.264 over RTP (RFC 6184, packetization-mode 1)
 * without depacketizing: does this packet start a key frame, does it start an access unit.
 * Pure; a payload too short to tell says no.
 *
 * Every RTP payload starts with a NAL unit header (a real one, or STAP-A's / FU-A's):
 *
 *   +---------------+
 *   |0|1|2|3|4|5|6|7|
 *   +-+-+-+-+-+-+-+-+
 *   |F|NRI|  Type   |   F: forbidden zero bit; NRI: reference importance (0-3)
 *   +---------------+
 *
 * Types 1-23 are one whole NAL unit, 24 (STAP-A) aggregates several (16-bit size then the
 * unit, repeated), 28 (FU-A) carries a fragment of one after its FU header (S|E|R|Type).
 */
export const NAL_SLICE = 1;
export const NAL_IDR = 5;
export const NAL_SEI = 6;
export const NAL_SPS = 7;
export const NAL_PPS = 8;
export const NAL_AUD = 9;
export const NAL_STAP_A = 24;
export const NAL_FU_A = 28;

function keyNal(type: number): boolean {
  return type === NAL_IDR || type === NAL_SPS;
}

/** An IDR slice (5) or the SPS (7) that precedes it, alone, first in a STAP-A, or at the start of a FU-A. */
export function h264StartsKeyframe(payload: Uint8Array): boolean {
  if (payload.length < 1) return false;
  const type = payload[0]! & 0x1f;
  if (type === NAL_FU_A) {
    // FU header: S bit (start of the fragmented NAL) and the NAL type.
    return payload.length >= 2 && (payload[1]! & 0x80) !== 0 && keyNal(payload[1]! & 0x1f);
  }
  if (type === NAL_STAP_A) {
    // 16-bit size then the NAL unit, repeated.
    for (let at = 1; at + 2 < payload.length;) {
      const size = (payload[at]! << 8) | payload[at + 1]!;
      if (size === 0) return false;
      if (keyNal(payload[at + 2]! & 0x1f)) return true;
      at += 2 + size;
    }
    return false;
  }
  return keyNal(type);
}

/**
 * Whether a NAL unit (its header byte and the byte after) can only begin an access unit: an
 * access unit delimiter, SEI, SPS or PPS, or a slice whose first_mb_in_slice is 0 (its
 * ue(v) code is the single bit 1, the top bit after the header). H.264 §7.4.1.2.3.
 */
export function nalStartsAccessUnit(header: number, next: number | undefined): boolean {
  const type = header & 0x1f;
  if (type === NAL_AUD || type === NAL_SEI || type === NAL_SPS || type === NAL_PPS) return true;
  return (type === NAL_SLICE || type === NAL_IDR) && next !== undefined && (next & 0x80) !== 0;
}

/**
 * Whether an RTP payload starts an access unit (a frame): its first NAL unit, alone, first in
 * a STAP-A, or starting a FU-A, is one that begins one (nalStartsAccessUnit). The frame
 * assembler's "S bit" for H.264, where RFC 6184 has none.
 */
export function h264StartsAccessUnit(payload: Uint8Array): boolean {
  if (payload.length < 1) return false;
  const type = payload[0]! & 0x1f;
  if (type === NAL_FU_A) return payload.length >= 3 && (payload[1]! & 0x80) !== 0 && nalStartsAccessUnit(payload[1]!, payload[2]);
  if (type === NAL_STAP_A) return payload.length >= 4 && nalStartsAccessUnit(payload[3]!, payload[4]);
  return nalStartsAccessUnit(payload[0]!, payload[1]);
}
