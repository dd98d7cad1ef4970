/**
 * VP8 frames into RTP payloads (RFC 7741 §4), as a browser sends them: each packet starts with
 * a 4-byte descriptor (X=1; I=1 with a 15-bit picture id; L=1 with TL0PICIDX; S=1 on the
 * frame's first packet, partition index 0), then up to `maxPayload` bytes of the frame. The
 * picture id counts frames; TL0PICIDX counts them too (every frame is temporal layer 0 here,
 * so the T/K byte is left out). Pure: the caller writes RTP headers and the marker bit on the
 * last payload.
 */
export const VP8_DESCRIPTOR_BYTES = 5;

/** Splits one frame into RTP payloads of at most `maxPayload` bytes each (descriptor included). */
export function packetizeVp8(frame: Uint8Array, pictureId: number, tl0PicIdx: number, maxPayload = 1100): Buffer[] {
  const room = maxPayload - VP8_DESCRIPTOR_BYTES;
  if (room <= 0) throw new TypeError(`maxPayload ${maxPayload} leaves no room for the frame`);
  const out: Buffer[] = [];
  for (let at = 0; at < frame.length || out.length === 0; at += room) {
    const chunk = frame.subarray(at, Math.min(frame.length, at + room));
    const p = Buffer.allocUnsafe(VP8_DESCRIPTOR_BYTES + chunk.length);
    p[0] = 0x80 | (at === 0 ? 0x10 : 0); // X, S on the first packet, PID 0
    p[1] = 0xc0; // I, L
    p[2] = 0x80 | ((pictureId >> 8) & 0x7f); // M: 15-bit picture id
    p[3] = pictureId & 0xff;
    p[4] = tl0PicIdx & 0xff;
    p.set(chunk, VP8_DESCRIPTOR_BYTES);
    out.push(p);
  }
  return out;
}
