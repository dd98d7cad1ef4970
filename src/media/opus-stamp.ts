/**
 * A send time carried inside an Opus packet, for one-way latency through any server that
 * forwards without re-encoding (a load tester's synthetic audio). The packet is rewritten as
 * code 3 with padding (RFC 6716 §3.2.5): the TOC's frame count code becomes 3, a count byte
 * says one frame with padding, a padding length byte follows, then the frame as it was, then
 * the padding: 4 bytes "CPTS" and the time as a big-endian float64 of milliseconds. Decoders
 * must accept any padding value and skip it, so the audio decodes exactly as before; RFC 6716
 * asks encoders to zero padding, which this test signal knowingly does not. Pure functions.
 */

const MAGIC = 0x43505453; // "CPTS"
const PADDING = 12;
/** Count byte: v=0 (CBR), p=1 (padding follows), M=1 frame. */
const ONE_FRAME_PADDED = 0x41;

/** `packet` (one frame, code 0) with `timeMs` in its padding; anything else comes back as it is. */
export function stampOpusPacket(packet: Uint8Array, timeMs: number): Buffer {
  if (packet.length < 1 || (packet[0]! & 3) !== 0) return Buffer.from(packet);
  const out = Buffer.alloc(packet.length + 2 + PADDING); // 2 header bytes more, and the padding
  out[0] = packet[0]! | 3;
  out[1] = ONE_FRAME_PADDED;
  out[2] = PADDING;
  out.set(packet.subarray(1), 3);
  const pad = 3 + packet.length - 1;
  out.writeUInt32BE(MAGIC, pad);
  out.writeDoubleBE(timeMs, pad + 4);
  return out;
}

/** The time a stamped packet carries, or undefined for any other packet. */
export function readOpusStamp(payload: Uint8Array): number | undefined {
  const n = payload.length;
  if (n < 3 + PADDING || (payload[0]! & 3) !== 3 || payload[1] !== ONE_FRAME_PADDED || payload[2] !== PADDING) return undefined;
  const view = new DataView(payload.buffer, payload.byteOffset + n - PADDING, PADDING);
  if (view.getUint32(0) !== MAGIC) return undefined;
  return view.getFloat64(4);
}
