/**
 * H.264 between Annex B byte streams and RTP payloads, RFC 6184 packetization-mode 1 (what
 * browsers send): a Node publisher packetizes a pre-encoded clip, a recorder turns what it
 * receives back into a `.h264` file. Pure.
 *
 * Annex B (H.264 Annex B.1): each NAL unit after a start code 00 00 01 (or 00 00 00 01).
 *
 * Payloads, in mode 1 (media/h264.ts has the NAL unit header):
 *
 * - a single NAL unit (types 1-23): the unit itself, header included;
 * - STAP-A (type 24), several units of one access unit in one packet:
 *
 *        0                   1                   2                   3
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |F|NRI|  24     |         NALU 1 size           | NALU 1 HDR    |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |   NALU 1 data ...             |  NALU 2 size ...              |
 *
 *   F is the OR of the units' F bits, NRI their highest NRI;
 * - FU-A (type 28), one unit in fragments, its own header folded into two bytes:
 *
 *       +---------------+---------------+
 *       |F|NRI|  28     |S|E|R|  Type   |  FU indicator: the unit's F and NRI;
 *       +---------------+---------------+  FU header: S first fragment, E last, Type the unit's
 *       |   the unit's bytes after its header, a slice of them per packet ...
 *
 * The RTP marker goes on the last packet of an access unit (the caller writes headers).
 */
import { CallpeerError } from '../errors.js';
import { FrameAssembler, type FrameFormat } from './frame-assembler.js';
import { h264StartsAccessUnit, NAL_FU_A, NAL_IDR, NAL_STAP_A, nalStartsAccessUnit } from './h264.js';

/** FU indicator + FU header. */
export const FU_A_HEADER_BYTES = 2;
const START_CODE = Buffer.from([0, 0, 0, 1]);
const START_CODE_3 = Buffer.from([0, 0, 1]);

function parseError(message: string): CallpeerError {
  return new CallpeerError('PARSE_ERROR', message);
}

/**
 * The NAL units of an Annex B byte stream, without start codes or trailing zero bytes (views
 * into `stream`). Empty units (two start codes in a row) are skipped. PARSE_ERROR when
 * anything but zero bytes comes before the first start code.
 */
export function splitAnnexB(stream: Uint8Array): Buffer[] {
  const buf = Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength);
  let at = buf.indexOf(START_CODE_3);
  if (at < 0) {
    if (buf.every((b) => b === 0)) return [];
    throw parseError('no Annex B start code (00 00 01) in the stream');
  }
  const lead = buf.subarray(0, at).findIndex((b) => b !== 0);
  if (lead >= 0) throw parseError(`a non-zero byte at offset ${lead}, before the first start code (offset ${at})`);
  const nals: Buffer[] = [];
  while (at >= 0) {
    const begin = at + 3;
    const next = buf.indexOf(START_CODE_3, begin);
    let end = next < 0 ? buf.length : next;
    while (end > begin && buf[end - 1] === 0) end--; // trailing_zero_8bits, or the zero byte of a 4-byte start code
    if (end > begin) nals.push(buf.subarray(begin, end));
    at = next;
  }
  return nals;
}

/**
 * NAL units (in stream order) grouped into access units, one a frame: after a slice, an
 * AUD/SEI/SPS/PPS or a slice with first_mb_in_slice 0 begins the next one (H.264
 * §7.4.1.2.3, enough for streams without arbitrary slice order). Units before the first
 * slice join the first access unit.
 */
export function groupAccessUnits(nals: readonly Buffer[]): Buffer[][] {
  const units: Buffer[][] = [];
  let current: Buffer[] = [];
  let sawSlice = false;
  for (const nal of nals) {
    const type = nal[0]! & 0x1f;
    const slice = type >= 1 && type <= 5;
    if (sawSlice && nalStartsAccessUnit(nal[0]!, nal[1])) {
      units.push(current);
      current = [];
      sawSlice = false;
    }
    current.push(nal);
    sawSlice ||= slice;
  }
  if (current.length > 0) units.push(current);
  return units;
}

/** An Annex B access unit (each NAL unit after 00 00 00 01) from its NAL units. */
export function toAnnexB(nals: readonly Uint8Array[]): Buffer {
  return Buffer.concat(nals.flatMap((n) => [START_CODE, n]));
}

export interface H264PacketizeOptions {
  /**
   * Put consecutive units that fit together into one STAP-A (default true), as browsers do
   * with SPS + PPS (+ SEI) before a key frame; false: every unit on its own.
   */
  aggregate?: boolean;
}

/**
 * One access unit's NAL units into RTP payloads of at most `maxPayload` bytes: a unit that
 * fits goes alone (or in a STAP-A with its neighbours), a bigger one in FU-A fragments.
 * TypeError for an empty unit or a `maxPayload` under 3 bytes.
 */
export function packetizeH264(nals: readonly Uint8Array[], maxPayload = 1100, options: H264PacketizeOptions = {}): Buffer[] {
  if (maxPayload < FU_A_HEADER_BYTES + 1) throw new TypeError(`maxPayload ${maxPayload} leaves no room for a FU-A fragment`);
  const aggregate = options.aggregate ?? true;
  const out: Buffer[] = [];
  for (let i = 0; i < nals.length;) {
    const nal = nals[i]!;
    if (nal.length === 0) throw new TypeError(`NAL unit ${i} is empty`);
    if (nal.length > maxPayload) {
      fragment(nal, maxPayload, out);
      i++;
      continue;
    }
    let end = i + 1;
    let size = 1 + 2 + nal.length;
    while (aggregate && end < nals.length && nals[end]!.length > 0 && size + 2 + nals[end]!.length <= maxPayload) size += 2 + nals[end++]!.length;
    out.push(end - i > 1 ? stapA(nals.slice(i, end), size) : Buffer.from(nal));
    i = end;
  }
  return out;
}

function stapA(nals: readonly Uint8Array[], size: number): Buffer {
  const p = Buffer.allocUnsafe(size);
  let f = 0;
  let nri = 0;
  let at = 1;
  for (const nal of nals) {
    f |= nal[0]! & 0x80;
    nri = Math.max(nri, nal[0]! & 0x60);
    p.writeUInt16BE(nal.length, at);
    p.set(nal, at + 2);
    at += 2 + nal.length;
  }
  p[0] = f | nri | NAL_STAP_A;
  return p;
}

function fragment(nal: Uint8Array, maxPayload: number, out: Buffer[]): void {
  const room = maxPayload - FU_A_HEADER_BYTES;
  const indicator = (nal[0]! & 0xe0) | NAL_FU_A;
  const type = nal[0]! & 0x1f;
  for (let at = 1; at < nal.length; at += room) {
    const end = Math.min(nal.length, at + room);
    const p = Buffer.allocUnsafe(FU_A_HEADER_BYTES + end - at);
    p[0] = indicator;
    p[1] = (at === 1 ? 0x80 : 0) | (end === nal.length ? 0x40 : 0) | type;
    p.set(nal.subarray(at, end), FU_A_HEADER_BYTES);
    out.push(p);
  }
}

/**
 * The NAL units in the RTP payloads of one access unit (in sequence order): single units,
 * STAP-A aggregates and FU-A fragments (rejoined under their own header). PARSE_ERROR, naming
 * the payload and byte offset, for an empty payload, a truncated or empty STAP-A entry, a
 * fragment out of order (a start inside a unit, a middle or end without a start, an unended
 * unit), or a type mode 1 does not allow (STAP-B, MTAP, FU-B, 0, 30, 31).
 */
export function depacketizeH264Nals(payloads: readonly Uint8Array[]): Buffer[] {
  const nals: Buffer[] = [];
  let fu: { header: number; parts: Uint8Array[] } | undefined;
  payloads.forEach((p, i) => {
    const where = `payload ${i}`;
    if (p.length === 0) throw parseError(`${where} is empty`);
    const type = p[0]! & 0x1f;
    if (type === NAL_FU_A) {
      if (p.length < FU_A_HEADER_BYTES + 1) throw parseError(`${where}: FU-A truncated at offset ${p.length}`);
      const start = (p[1]! & 0x80) !== 0;
      const end = (p[1]! & 0x40) !== 0;
      const header = (p[0]! & 0xe0) | (p[1]! & 0x1f);
      if (start && end) throw parseError(`${where}: FU-A with both S and E set (offset 1)`);
      if (start) {
        if (fu) throw parseError(`${where}: FU-A start before the previous unit ended`);
        fu = { header, parts: [Uint8Array.of(header)] };
      } else if (!fu) {
        throw parseError(`${where}: FU-A ${end ? 'end' : 'middle'} without its start`);
      } else if (fu.header !== header) {
        throw parseError(`${where}: FU-A fragment of another unit (offset 1)`);
      }
      fu.parts.push(p.subarray(FU_A_HEADER_BYTES));
      if (end) {
        nals.push(Buffer.concat(fu.parts));
        fu = undefined;
      }
      return;
    }
    if (fu) throw parseError(`${where}: a new unit before the FU-A unit ended`);
    if (type === NAL_STAP_A) {
      if (p.length < 4) throw parseError(`${where}: STAP-A truncated at offset ${p.length}`);
      for (let at = 1; at < p.length;) {
        if (at + 2 > p.length) throw parseError(`${where}: STAP-A size truncated at offset ${at}`);
        const size = (p[at]! << 8) | p[at + 1]!;
        if (size === 0) throw parseError(`${where}: STAP-A entry of size 0 at offset ${at}`);
        if (at + 2 + size > p.length) throw parseError(`${where}: STAP-A entry of ${size} bytes at offset ${at} runs past the end (${p.length})`);
        nals.push(Buffer.from(p.subarray(at + 2, at + 2 + size)));
        at += 2 + size;
      }
      return;
    }
    if (type === 0 || type > 23) throw parseError(`${where}: NAL unit type ${type} is not in packetization-mode 1 (offset 0)`);
    nals.push(Buffer.from(p));
  });
  if (fu) throw parseError(`FU-A unit not ended after ${payloads.length} payloads`);
  return nals;
}

/** The RTP payloads of one access unit back into Annex B (depacketizeH264Nals, then toAnnexB). */
export function depacketizeH264(payloads: readonly Uint8Array[]): Buffer {
  return toAnnexB(depacketizeH264Nals(payloads));
}

export interface H264Frame {
  /** The access unit in Annex B (00 00 00 01 before each NAL unit). */
  data: Buffer;
  /** RTP timestamp (90 kHz). */
  timestamp: number;
  /** It holds an IDR slice. */
  keyframe: boolean;
}

/**
 * RFC 6184 for the frame assembler: a frame starts at a new timestamp with a unit that begins
 * an access unit (RTP has no start bit for H.264), its payloads go back to Annex B.
 */
const H264_FORMAT: FrameFormat<H264Frame> = {
  startsFrame: (payload, timestamp, openTimestamp) => timestamp !== openTimestamp && h264StartsAccessUnit(payload),
  payloadOffset: () => 0,
  assemble(parts, timestamp) {
    const nals = depacketizeH264Nals(parts);
    if (nals.length === 0) return undefined;
    return { data: toAnnexB(nals), timestamp, keyframe: nals.some((n) => (n[0]! & 0x1f) === NAL_IDR) };
  },
};

/**
 * Assembles H.264 access units from RTP packets in arrival order (media/frame-assembler.ts:
 * a frame with a missing packet is dropped with everything after it until the next IDR, and
 * `onNeedKeyframe` is called so the owner can send a PLI).
 */
export class H264Depacketizer extends FrameAssembler<H264Frame> {
  constructor(onFrame: (frame: H264Frame) => void, onNeedKeyframe?: () => void) {
    super(H264_FORMAT, onFrame, onNeedKeyframe);
  }
}
