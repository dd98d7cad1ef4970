/**
 * One relayed PCM frame on the node bus (BusPort.sendFrame): a /ws/pcm client's frame on its way
 * to the node that hosts its pair or room, or the host's frame on its way back, named by the
 * link (`<client's node>/<peer id>`). Binary, so audio crosses nodes without JSON or base64:
 *
 *    0       1       2 ... 2+n-1   2+n ...
 *   +-------+-------+-------------+-----------------+
 *   | kind  |   n   |  link (n B) |  payload        |
 *   +-------+-------+-------------+-----------------+
 *
 * kind (u8): what the payload is (RelayKind). n (u8): the link's length, 1..255, ASCII.
 * A `down-close` payload is the WebSocket close code (u16, big-endian) and the reason (UTF-8).
 */
import { CallpeerError } from '../errors.js';

export const RelayKind = {
  /** Client → host: a binary frame from the client, as it came. */
  upAudio: 1,
  /** Client → host: a text frame from the client (JSON), as it came. */
  upText: 2,
  /** Client → host: the client's socket closed. No payload. */
  upLeft: 3,
  /** Host → client: audio for the client, in its format. */
  downAudio: 4,
  /** Host → client: a JSON text frame for the client. */
  downText: 5,
  /** Host → client: close the client's socket (payload: code and reason). */
  downClose: 6,
  /** Host → client: its pair ended; it pairs again from its own node. No payload. */
  downReleased: 7,
} as const;
export type RelayKind = (typeof RelayKind)[keyof typeof RelayKind];

export interface RelayFrame {
  kind: RelayKind;
  link: string;
  /** A view into the frame read (no copy). */
  payload: Buffer;
}

/** One frame: header and a copy of `payload`, in one allocation. */
export function writeRelayFrame(kind: RelayKind, link: string, payload?: Uint8Array): Buffer {
  const n = Buffer.byteLength(link, 'latin1');
  if (n < 1 || n > 255) throw new TypeError(`a relay link is 1-255 bytes, got ${n}`);
  const out = Buffer.allocUnsafe(2 + n + (payload?.length ?? 0));
  out[0] = kind;
  out[1] = n;
  out.write(link, 2, 'latin1');
  if (payload) out.set(payload, 2 + n);
  return out;
}

/** Reads a frame; PARSE_ERROR (with the offset) for a truncated one or an unknown kind. */
export function readRelayFrame(buf: Buffer): RelayFrame {
  if (buf.length < 2) throw new CallpeerError('PARSE_ERROR', `relay frame: ${buf.length} bytes, need 2 at offset 0`);
  const kind = buf[0]!;
  if (kind < RelayKind.upAudio || kind > RelayKind.downReleased) throw new CallpeerError('PARSE_ERROR', `relay frame: unknown kind ${kind} at offset 0`);
  const n = buf[1]!;
  if (n === 0 || buf.length < 2 + n) throw new CallpeerError('PARSE_ERROR', `relay frame: link of ${n} bytes at offset 1, ${buf.length - 2} left`);
  return { kind: kind as RelayKind, link: buf.toString('latin1', 2, 2 + n), payload: buf.subarray(2 + n) };
}

/** A `down-close` payload: code (u16 BE) and reason. */
export function writeClosePayload(code: number, reason: string): Buffer {
  const out = Buffer.allocUnsafe(2 + Buffer.byteLength(reason));
  out.writeUInt16BE(code, 0);
  out.write(reason, 2);
  return out;
}

export function readClosePayload(payload: Buffer): { code: number; reason: string } {
  if (payload.length < 2) throw new CallpeerError('PARSE_ERROR', `relay close: ${payload.length} bytes, need 2 at offset 0`);
  return { code: payload.readUInt16BE(0), reason: payload.toString('utf8', 2) };
}
