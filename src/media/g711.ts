/**
 * G.711 µ-law (ITU-T G.711), the codec of telephone audio and of Twilio Media Streams: 8-bit
 * log-companded samples at 8 kHz. Written as the ITU-T's own reference (G.191 STL g711.c,
 * ulaw_compress/ulaw_expand): the 16-bit sample's magnitude (one's complement for negatives)
 * is cut to 14 bits, biased by 33, and coded as sign, 3-bit segment and 4-bit mantissa, all bits
 * inverted. Decoding goes through a 256-entry table made once.
 */

const BIAS = 0x21; // 33, on the 14-bit scale
const MAX_BIASED = 0x1fff;
/** Upper bounds of the eight segments, 14-bit scale (after the bias). */
const SEG_END = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];

/** One 16-bit sample to its µ-law byte. */
export function mulawEncodeSample(sample: number): number {
  // One's complement, not negation: -1..-4 code as the smallest negative step, as G.191 does.
  const negative = sample < 0;
  const v = Math.min(MAX_BIASED, ((negative ? ~sample : sample) >> 2) + BIAS);
  let seg = 0;
  while (v > SEG_END[seg]!) seg++;
  return ((seg << 4) | ((v >> (seg + 1)) & 0x0f)) ^ (negative ? 0x7f : 0xff);
}

function decodeByte(byte: number): number {
  const u = ~byte & 0xff;
  const t = ((((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4));
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

/** µ-law byte → 16-bit sample, for every byte. */
export const MULAW_DECODE_TABLE: Int16Array = Int16Array.from({ length: 256 }, (_, b) => decodeByte(b));

export function mulawDecodeSample(byte: number): number {
  return MULAW_DECODE_TABLE[byte & 0xff]!;
}

/** 16-bit samples → µ-law bytes (into `out` when given: no allocation). */
export function mulawEncode(samples: Int16Array, out: Uint8Array = new Uint8Array(samples.length)): Uint8Array {
  for (let i = 0; i < samples.length; i++) out[i] = mulawEncodeSample(samples[i]!);
  return out;
}

/** µ-law bytes → 16-bit samples (into `out` when given: no allocation). */
export function mulawDecode(bytes: Uint8Array, out: Int16Array = new Int16Array(bytes.length)): Int16Array {
  for (let i = 0; i < bytes.length; i++) out[i] = MULAW_DECODE_TABLE[bytes[i]!]!;
  return out;
}
