/**
 * The one thing an SFU needs to know of H.264 over RTP (RFC 6184, packetization-mode 1): does
 * this packet start a key frame? An IDR slice (NAL type 5) or the SPS (7) that precedes it, in a
 * single NAL unit, inside a STAP-A aggregate (24) or at the start of a FU-A fragment (28).
 * Pure; a payload too short to tell is not a key frame.
 */
const NAL_IDR = 5;
const NAL_SPS = 7;
const STAP_A = 24;
const FU_A = 28;

function keyNal(type: number): boolean {
  return type === NAL_IDR || type === NAL_SPS;
}

export function h264StartsKeyframe(payload: Uint8Array): boolean {
  if (payload.length < 1) return false;
  const type = payload[0]! & 0x1f;
  if (type === FU_A) {
    // FU header: S bit (start of the fragmented NAL) and the NAL type.
    return payload.length >= 2 && (payload[1]! & 0x80) !== 0 && keyNal(payload[1]! & 0x1f);
  }
  if (type === STAP_A) {
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
