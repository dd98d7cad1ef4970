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

/**
 * The time a stamped Opus payload carries, or undefined for any other payload. The payload is
 * `length` bytes at `offset` of `packet` (an RTP packet's, read in place: this runs for every
 * packet a load generator receives, so it allocates nothing).
 */
export function readOpusStamp(packet: Buffer, offset = 0, length = packet.length - offset): number | undefined {
  if (length < 3 + PADDING || (packet[offset]! & 3) !== 3 || packet[offset + 1] !== ONE_FRAME_PADDED || packet[offset + 2] !== PADDING) return undefined;
  const pad = offset + length - PADDING;
  if (packet.readUInt32BE(pad) !== MAGIC) return undefined;
  return packet.readDoubleBE(pad + 4);
}
