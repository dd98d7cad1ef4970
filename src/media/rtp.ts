/**
 * RTP fixed header (RFC 3550 §5.1) with CSRCs and RFC 8285 header extensions.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  profile (0xBEDE or 0x100x)   |      length (32-bit words)    |  if X
 * |                        extension data                         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 payload ...   |  padding  | padding count (P) |
 *
 * RFC 8285 elements: one-byte form (profile 0xBEDE) is `ID(4) len-1(4) data`, ID 1..14,
 * ID 15 stops parsing; two-byte form (profile 0x100 << 4 | appbits) is `ID(8) len(8) data`.
 * Zero bytes between elements are padding.
 */
import { CallpeerError } from '../errors.js';

export const RTP_HEADER_MIN = 12;
export const EXT_PROFILE_ONE_BYTE = 0xbede;
/** Two-byte form: 0x1000 with 4 "appbits" in the low nibble (RFC 8285 §4.3). */
export const EXT_PROFILE_TWO_BYTE = 0x1000;

export interface RtpHeaderExtension {
  id: number;
  /** A view into the parsed buffer (not a copy). */
  value: Uint8Array;
}

export interface RtpHeader {
  padding: boolean;
  marker: boolean;
  payloadType: number;
  /** 0..65535 */
  sequenceNumber: number;
  /** 0..2^32-1, in the payload's clock rate */
  timestamp: number;
  /** unsigned 32-bit */
  ssrc: number;
  csrcs: number[];
  /** Extension profile when the X bit is set; undefined means no extension block. */
  extensionProfile: number | undefined;
  /** RFC 8285 elements (profiles 0xBEDE and 0x100x); empty otherwise. */
  extensions: RtpHeaderExtension[];
  /** Raw extension data for other profiles (not RFC 8285). */
  extensionData: Uint8Array | undefined;
}

export interface RtpPacketInfo extends RtpHeader {
  /** Bytes from the start of the packet to the payload. */
  payloadOffset: number;
  payloadLength: number;
  /** Padding bytes at the end (0 unless P), including the count byte. */
  paddingLength: number;
}

function parseError(message: string, offset: number): CallpeerError {
  return new CallpeerError('PARSE_ERROR', `RTP: ${message} at offset ${offset}`);
}

function parseExtensions(buf: Uint8Array, start: number, end: number, profile: number): RtpHeaderExtension[] {
  const twoByte = (profile & 0xfff0) === EXT_PROFILE_TWO_BYTE;
  const out: RtpHeaderExtension[] = [];
  let i = start;
  while (i < end) {
    const b = buf[i]!;
    if (b === 0) { i++; continue; } // padding
    let id: number;
    let len: number;
    if (twoByte) {
      if (i + 2 > end) throw parseError('two-byte extension element header past the block', i);
      id = b;
      len = buf[i + 1]!;
      i += 2;
    } else {
      id = b >> 4;
      len = (b & 0x0f) + 1;
      if (id === 15) break; // reserved: stop processing (RFC 8285 §4.2)
      i += 1;
    }
    if (i + len > end) throw parseError(`extension element id ${id} of ${len} bytes past the block`, i);
    out.push({ id, value: buf.subarray(i, i + len) });
    i += len;
  }
  return out;
}

/** Shared by every header without CSRCs or extension elements (nearly all): no allocation per packet. */
const NO_CSRCS = Object.freeze([]) as unknown as number[];
const NO_EXTENSIONS = Object.freeze([]) as unknown as RtpHeaderExtension[];

const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;
const u32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/**
 * Parses an RTP header; throws PARSE_ERROR (with the offset) on anything out of bounds. Runs
 * for every packet received: the common header allocates only its result object.
 */
export function parseRtpHeader(buf: Uint8Array): RtpPacketInfo {
  if (buf.length < RTP_HEADER_MIN) throw parseError(`${buf.length} bytes, header needs ${RTP_HEADER_MIN}`, buf.length);
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  if (b0 >> 6 !== 2) throw parseError(`version ${b0 >> 6}, expected 2`, 0);
  const cc = b0 & 0x0f;
  let offset = RTP_HEADER_MIN;
  if (buf.length < offset + 4 * cc) throw parseError(`${cc} CSRCs past the end`, offset);
  let csrcs = NO_CSRCS;
  if (cc > 0) {
    csrcs = [];
    for (let i = 0; i < cc; i++, offset += 4) csrcs.push(u32(buf, offset));
  }
  let extensionProfile: number | undefined;
  let extensions = NO_EXTENSIONS;
  let extensionData: Uint8Array | undefined;
  if (b0 & 0x10) {
    if (buf.length < offset + 4) throw parseError('extension header past the end', offset);
    extensionProfile = u16(buf, offset);
    const words = u16(buf, offset + 2);
    const start = offset + 4;
    const end = start + 4 * words;
    if (buf.length < end) throw parseError(`extension of ${words} words past the end`, offset);
    if (extensionProfile === EXT_PROFILE_ONE_BYTE || (extensionProfile & 0xfff0) === EXT_PROFILE_TWO_BYTE) {
      extensions = parseExtensions(buf, start, end, extensionProfile);
    } else {
      extensionData = buf.subarray(start, end);
    }
    offset = end;
  }
  let paddingLength = 0;
  if (b0 & 0x20) {
    paddingLength = buf[buf.length - 1]!;
    if (paddingLength === 0 || offset + paddingLength > buf.length) throw parseError(`padding count ${paddingLength} out of range`, buf.length - 1);
  }
  return {
    padding: (b0 & 0x20) !== 0,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: u16(buf, 2),
    timestamp: u32(buf, 4),
    ssrc: u32(buf, 8),
    csrcs,
    extensionProfile,
    extensions,
    extensionData,
    payloadOffset: offset,
    payloadLength: buf.length - offset - paddingLength,
    paddingLength,
  };
}

/** The profile writeRtpHeader uses: the header's own, else one-byte form when every element fits it. */
function chooseProfile(h: RtpHeader): number | undefined {
  if (h.extensionProfile !== undefined) return h.extensionProfile;
  if (h.extensions.length === 0) return undefined;
  for (const e of h.extensions) {
    if (e.id < 1 || e.id > 14 || e.value.length < 1 || e.value.length > 16) return EXT_PROFILE_TWO_BYTE;
  }
  return EXT_PROFILE_ONE_BYTE;
}

/** Big-endian 32-bit store without a DataView (nothing allocated per packet). */
function put32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

function put16(out: Uint8Array, at: number, v: number): void {
  out[at] = (v >>> 8) & 0xff;
  out[at + 1] = v & 0xff;
}

function extensionBodyLength(h: RtpHeader, profile: number): number {
  if (profile !== EXT_PROFILE_ONE_BYTE && (profile & 0xfff0) !== EXT_PROFILE_TWO_BYTE) return h.extensionData?.length ?? 0;
  const perElement = profile === EXT_PROFILE_ONE_BYTE ? 1 : 2;
  let n = 0;
  for (const e of h.extensions) n += perElement + e.value.length;
  return n;
}

/** Bytes writeRtpHeader will write for `h` (header, CSRCs and extension block, 4-byte aligned). */
export function rtpHeaderLength(h: RtpHeader): number {
  const profile = chooseProfile(h);
  const ext = profile === undefined ? 0 : 4 + Math.ceil(extensionBodyLength(h, profile) / 4) * 4;
  return RTP_HEADER_MIN + 4 * h.csrcs.length + ext;
}

/**
 * Writes the header at `out[offset]` and returns the bytes written; allocates nothing. The
 * P bit is written as given: the caller appends the padding after the payload. Throws
 * TypeError if `out` is too small or a field is out of range.
 */
export function writeRtpHeader(h: RtpHeader, out: Uint8Array, offset: number): number {
  const length = rtpHeaderLength(h);
  if (offset < 0 || offset + length > out.length) throw new TypeError(`RTP header of ${length} bytes does not fit at offset ${offset}`);
  if (h.csrcs.length > 15) throw new TypeError(`at most 15 CSRCs, got ${h.csrcs.length}`);
  if (h.payloadType < 0 || h.payloadType > 127) throw new TypeError(`payload type ${h.payloadType} out of 0..127`);
  const profile = chooseProfile(h);
  out[offset] = 0x80 | (h.padding ? 0x20 : 0) | (profile !== undefined ? 0x10 : 0) | h.csrcs.length;
  out[offset + 1] = (h.marker ? 0x80 : 0) | h.payloadType;
  put16(out, offset + 2, h.sequenceNumber);
  put32(out, offset + 4, h.timestamp);
  put32(out, offset + 8, h.ssrc);
  let i = offset + RTP_HEADER_MIN;
  for (const c of h.csrcs) { put32(out, i, c); i += 4; }
  if (profile === undefined) return length;
  const end = offset + length;
  put16(out, i, profile);
  put16(out, i + 2, (end - i - 4) / 4);
  i += 4;
  if (profile === EXT_PROFILE_ONE_BYTE) {
    for (const e of h.extensions) {
      if (e.id < 1 || e.id > 14 || e.value.length < 1 || e.value.length > 16) throw new TypeError(`extension id ${e.id} with ${e.value.length} bytes does not fit the one-byte form`);
      out[i++] = (e.id << 4) | (e.value.length - 1);
      out.set(e.value, i);
      i += e.value.length;
    }
  } else if ((profile & 0xfff0) === EXT_PROFILE_TWO_BYTE) {
    for (const e of h.extensions) {
      if (e.id < 1 || e.id > 255 || e.value.length > 255) throw new TypeError(`extension id ${e.id} with ${e.value.length} bytes does not fit the two-byte form`);
      out[i++] = e.id;
      out[i++] = e.value.length;
      out.set(e.value, i);
      i += e.value.length;
    }
  } else if (h.extensionData) {
    out.set(h.extensionData, i);
    i += h.extensionData.length;
  }
  out.fill(0, i, end);
  return length;
}

function checkHeader(buf: Uint8Array): void {
  if (buf.length < RTP_HEADER_MIN) throw parseError(`${buf.length} bytes, header needs ${RTP_HEADER_MIN}`, buf.length);
}

/** In-place rewrites for a forwarder (no parse, no allocation). */
export function setRtpSsrc(buf: Uint8Array, ssrc: number): void {
  checkHeader(buf);
  put32(buf, 8, ssrc);
}

export function setRtpSequenceNumber(buf: Uint8Array, seq: number): void {
  checkHeader(buf);
  put16(buf, 2, seq);
}

export function setRtpTimestamp(buf: Uint8Array, timestamp: number): void {
  checkHeader(buf);
  put32(buf, 4, timestamp);
}

/** Sets the payload type, keeping the marker bit. Throws TypeError outside 0..127. */
export function setRtpPayloadType(buf: Uint8Array, payloadType: number): void {
  checkHeader(buf);
  if (!(Number.isInteger(payloadType) && payloadType >= 0 && payloadType <= 127)) throw new TypeError(`payload type ${payloadType} out of 0..127`);
  buf[1] = (buf[1]! & 0x80) | payloadType;
}

/**
 * Blanks every header extension element of a parsed packet in place: the block stays (same
 * length, X bit set) but holds only padding, the zero bytes RFC 8285 lets appear anywhere in
 * it (one-byte and two-byte forms alike), so nothing moves and nothing is allocated. A
 * forwarder's packets must not carry the sender's extensions: their IDs are negotiated per
 * session, and a receiver demultiplexing by the sender's MID routes them to whichever of its
 * own sections has that MID.
 */
export function blankRtpHeaderExtensions(buf: Uint8Array, h: RtpPacketInfo): void {
  if (h.extensionProfile === undefined) return;
  buf.fill(0, RTP_HEADER_MIN + 4 * h.csrcs.length + 4, h.payloadOffset);
}

/** a - b modulo 2^16, as a signed value in -32768..32767 (positive: a is newer). */
export function seqDiff(a: number, b: number): number {
  return (((a - b) & 0xffff) << 16) >> 16;
}

/** True if sequence number a comes before b, across wrap-around. */
export function seqLt(a: number, b: number): boolean {
  return seqDiff(a, b) < 0;
}

/** a - b modulo 2^32, as a signed value (positive: a is later). */
export function tsDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * Extends a 16-bit sequence number to the cycle-counted value closest to `reference` (an
 * extended number seen before), as RFC 3550 receivers do for the highest-seq field.
 */
export function unwrapSeq(seq: number, reference: number): number {
  return reference + seqDiff(seq, reference & 0xffff);
}

/** RTP and RTCP share a port (RFC 5761 §4): RTCP packet types 192..223 sit where M+PT would. */
export function isRtcp(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[1]! >= 192 && buf[1]! <= 223;
}
