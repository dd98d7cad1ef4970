/**
 * RTCP (RFC 3550 §6, RFC 4585 feedback): SR, RR, SDES, BYE, generic NACK, PLI, FIR, REMB, compound
 * packets, plus the NTP and report-block arithmetic receivers need. Other packet types (XR,
 * transport-cc...) are kept as raw bodies so a compound packet round-trips. Profile-
 * specific extensions after an SR's or RR's report blocks (unused by WebRTC) are dropped.
 *
 * Common header of every RTCP packet:
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P| RC/FMT  |      PT       |  length (32-bit words - 1)    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * SR  (200): SSRC, NTP msw, NTP lsw, RTP ts, packet count, octet count, RC report blocks
 * RR  (201): SSRC, RC report blocks
 * report block (24 bytes):
 * |                 SSRC of source being reported                 |
 * | fraction lost |      cumulative packets lost (signed 24)      |
 * |           extended highest sequence number received           |
 * |                      interarrival jitter                      |
 * |                     last SR (LSR, NTP middle 32)              |
 * |            delay since last SR (DLSR, 1/65536 s)              |
 * SDES(202): RC chunks of SSRC + items (type 8, length 8, text), each chunk ended by a zero
 *            byte and padded to 32 bits
 * BYE (203): RC SSRCs, then optional reason (length 8, text), padded to 32 bits
 * RTPFB (205) FMT 1, generic NACK: sender SSRC, media SSRC, then | PID (16) | BLP (16) |...
 *            (lost PID, and bit i of BLP: PID+i+1 lost too)
 * PSFB  (206) FMT 1, PLI: sender SSRC, media SSRC, no FCI
 * PSFB  (206) FMT 4, FIR (RFC 5104 §4.3.1): sender SSRC, media SSRC = 0, then per target
 *            | SSRC (32) | seq nr (8) | reserved (24) |
 * PSFB  (206) FMT 15, REMB (draft-alvestrand-rmcat-remb): sender SSRC, media SSRC = 0,
 *            "REMB", | num SSRC (8) | BR exp (6) | BR mantissa (18) |, then the SSRCs;
 *            bitrate = mantissa << exp bits/s
 */
import { CallpeerError } from '../errors.js';

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;
export const SDES_CNAME = 1;

export interface ReportBlock {
  ssrc: number;
  /** Fraction of packets lost since the previous report, 0..255 (of 256). */
  fractionLost: number;
  /** Cumulative packets lost, signed 24-bit (duplicates can make it negative). */
  packetsLost: number;
  /** Extended highest sequence number received (cycles << 16 | seq). */
  highestSeq: number;
  /** Interarrival jitter in RTP timestamp units. */
  jitter: number;
  /** Middle 32 bits of the last SR's NTP timestamp; 0 if none received. */
  lsr: number;
  /** Delay since that SR, 1/65536 s. */
  dlsr: number;
}

export interface SenderReport {
  type: 'sr'; ssrc: number;
  /** NTP timestamp: seconds since 1900 and the fraction, 1/2^32 s. */
  ntpSeconds: number; ntpFraction: number;
  rtpTimestamp: number; packetCount: number; octetCount: number;
  reports: ReportBlock[];
}
export interface ReceiverReport { type: 'rr'; ssrc: number; reports: ReportBlock[] }
export interface SdesItem { type: number; text: string }
export interface SourceDescription { type: 'sdes'; chunks: Array<{ ssrc: number; items: SdesItem[] }> }
export interface Goodbye { type: 'bye'; ssrcs: number[]; reason?: string }
export interface NackItem { pid: number; blp: number }
export interface GenericNack { type: 'nack'; senderSsrc: number; mediaSsrc: number; items: NackItem[] }
export interface PictureLossIndication { type: 'pli'; senderSsrc: number; mediaSsrc: number }
export interface FullIntraRequest { type: 'fir'; senderSsrc: number; entries: Array<{ ssrc: number; seq: number }> }
/** Receiver estimated maximum bitrate: what the sender of `ssrcs` may send in total, bits/s. */
export interface Remb { type: 'remb'; senderSsrc: number; bitrate: number; ssrcs: number[] }
/** Any other packet: `count` is the RC/FMT field, `body` what follows the 4-byte header. */
export interface OtherRtcp { type: 'other'; packetType: number; count: number; body: Uint8Array }

export type RtcpPacket =
  | SenderReport | ReceiverReport | SourceDescription | Goodbye | GenericNack | PictureLossIndication
  | FullIntraRequest | Remb | OtherRtcp;

const PSFB_PLI = 1;
const PSFB_FIR = 4;
const PSFB_AFB = 15;
/** "REMB" in ASCII: the application-layer feedback REMB is. */
const REMB_ID = 0x52454d42;

function parseError(message: string, offset: number): CallpeerError {
  return new CallpeerError('PARSE_ERROR', `RTCP: ${message} at offset ${offset}`);
}

function parseReports(v: DataView, offset: number, count: number): ReportBlock[] {
  const out: ReportBlock[] = [];
  for (let i = 0; i < count; i++, offset += 24) {
    out.push({
      ssrc: v.getUint32(offset),
      fractionLost: v.getUint8(offset + 4),
      packetsLost: (v.getUint32(offset + 4) << 8) >> 8,
      highestSeq: v.getUint32(offset + 8),
      jitter: v.getUint32(offset + 12),
      lsr: v.getUint32(offset + 16),
      dlsr: v.getUint32(offset + 20),
    });
  }
  return out;
}

const utf8 = new TextDecoder();

function parseSdes(buf: Uint8Array, start: number, end: number, count: number): SourceDescription {
  const chunks: SourceDescription['chunks'] = [];
  let i = start;
  for (let c = 0; c < count; c++) {
    if (i + 4 > end) throw parseError('SDES chunk past the packet', i);
    const ssrc = new DataView(buf.buffer, buf.byteOffset + i, 4).getUint32(0);
    i += 4;
    const items: SdesItem[] = [];
    for (;;) {
      if (i >= end) throw parseError('SDES chunk without its terminating zero', i);
      const type = buf[i]!;
      if (type === 0) break;
      if (i + 2 > end || i + 2 + buf[i + 1]! > end) throw parseError('SDES item past the packet', i);
      const len = buf[i + 1]!;
      items.push({ type, text: utf8.decode(buf.subarray(i + 2, i + 2 + len)) });
      i += 2 + len;
    }
    i = (Math.floor((i - start) / 4) + 1) * 4 + start; // past the zero(s), to the next word
    chunks.push({ ssrc, items });
  }
  return { type: 'sdes', chunks };
}

function parseFir(buf: Uint8Array, v: DataView, body: number, end: number): FullIntraRequest {
  if (body + 8 > end) throw parseError(`FIR SSRCs need 8 bytes, packet has ${end - body}`, body);
  const entries: FullIntraRequest['entries'] = [];
  for (let i = body + 8; i + 8 <= end; i += 8) entries.push({ ssrc: v.getUint32(i), seq: buf[i + 4]! });
  return { type: 'fir', senderSsrc: v.getUint32(body), entries };
}

function parseRemb(buf: Uint8Array, v: DataView, body: number, end: number): Remb {
  const n = buf[body + 12]!;
  if (body + 16 + 4 * n > end) throw parseError(`REMB with ${n} SSRCs past the packet`, body);
  const exp = buf[body + 13]! >> 2;
  const mantissa = ((buf[body + 13]! & 3) << 16) | v.getUint16(body + 14);
  const ssrcs: number[] = [];
  for (let i = 0; i < n; i++) ssrcs.push(v.getUint32(body + 16 + 4 * i));
  return { type: 'remb', senderSsrc: v.getUint32(body), bitrate: mantissa * 2 ** exp, ssrcs };
}

function parseOne(buf: Uint8Array, v: DataView, at: number, count: number, pt: number, end: number): RtcpPacket {
  const body = at + 4;
  const need = (n: number, what: string): void => {
    if (body + n > end) throw parseError(`${what} needs ${n} bytes, packet has ${end - body}`, body);
  };
  switch (pt) {
    case RTCP_SR:
      need(24 + 24 * count, `SR with ${count} report blocks`);
      return {
        type: 'sr', ssrc: v.getUint32(body), ntpSeconds: v.getUint32(body + 4), ntpFraction: v.getUint32(body + 8),
        rtpTimestamp: v.getUint32(body + 12), packetCount: v.getUint32(body + 16), octetCount: v.getUint32(body + 20),
        reports: parseReports(v, body + 24, count),
      };
    case RTCP_RR:
      need(4 + 24 * count, `RR with ${count} report blocks`);
      return { type: 'rr', ssrc: v.getUint32(body), reports: parseReports(v, body + 4, count) };
    case RTCP_SDES:
      return parseSdes(buf, body, end, count);
    case RTCP_BYE: {
      need(4 * count, `BYE with ${count} SSRCs`);
      const ssrcs: number[] = [];
      for (let i = 0; i < count; i++) ssrcs.push(v.getUint32(body + 4 * i));
      const r = body + 4 * count;
      if (r >= end) return { type: 'bye', ssrcs };
      if (r + 1 + buf[r]! > end) throw parseError('BYE reason past the packet', r);
      return { type: 'bye', ssrcs, reason: utf8.decode(buf.subarray(r + 1, r + 1 + buf[r]!)) };
    }
    case RTCP_PSFB:
      if (count === PSFB_FIR) return parseFir(buf, v, body, end);
      if (count === PSFB_AFB && end - body >= 16 && v.getUint32(body + 8) === REMB_ID) return parseRemb(buf, v, body, end);
      if (count === PSFB_PLI) {
        need(8, 'feedback SSRCs');
        return { type: 'pli', senderSsrc: v.getUint32(body), mediaSsrc: v.getUint32(body + 4) };
      }
      break;
    case RTCP_RTPFB:
      if (count === 1) { // FMT 1: generic NACK
        need(8, 'feedback SSRCs');
        const items: NackItem[] = [];
        for (let i = body + 8; i + 4 <= end; i += 4) items.push({ pid: v.getUint16(i), blp: v.getUint16(i + 2) });
        return { type: 'nack', senderSsrc: v.getUint32(body), mediaSsrc: v.getUint32(body + 4), items };
      }
      break;
  }
  return { type: 'other', packetType: pt, count, body: buf.subarray(body, end) };
}

/**
 * Parses a compound RTCP packet into its packets. Throws PARSE_ERROR with the offset on a bad
 * version, a length past the end, or a count that does not fit its packet's length.
 */
export function parseRtcp(buf: Uint8Array): RtcpPacket[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: RtcpPacket[] = [];
  let at = 0;
  if (buf.length === 0) throw parseError('empty packet', 0);
  while (at < buf.length) {
    if (at + 4 > buf.length) throw parseError(`${buf.length - at} bytes left, a header needs 4`, at);
    const b0 = buf[at]!;
    if (b0 >> 6 !== 2) throw parseError(`version ${b0 >> 6}, expected 2`, at);
    const length = 4 * (v.getUint16(at + 2) + 1);
    if (at + length > buf.length) throw parseError(`packet of ${length} bytes past the end (${buf.length - at} left)`, at);
    let end = at + length;
    if (b0 & 0x20) {
      const pad = buf[end - 1]!;
      if (pad === 0 || pad > length - 4) throw parseError(`padding count ${pad} out of range`, end - 1);
      end -= pad;
    }
    out.push(parseOne(buf, v, at, b0 & 0x1f, buf[at + 1]!, end));
    at += length;
  }
  return out;
}

const utf8e = new TextEncoder();

function sdesChunkLength(chunk: SourceDescription['chunks'][number]): number {
  let n = 4;
  for (const item of chunk.items) n += 2 + utf8e.encode(item.text).length;
  return (Math.floor(n / 4) + 1) * 4; // at least one zero byte, then to the next word
}

/** Bytes writeRtcpPacket will write for `p` (always a multiple of 4). */
export function rtcpPacketLength(p: RtcpPacket): number {
  switch (p.type) {
    case 'sr': return 28 + 24 * p.reports.length;
    case 'rr': return 8 + 24 * p.reports.length;
    case 'sdes': return 4 + p.chunks.reduce((n, c) => n + sdesChunkLength(c), 0);
    case 'bye': return 4 + 4 * p.ssrcs.length + (p.reason === undefined ? 0 : Math.ceil((1 + utf8e.encode(p.reason).length) / 4) * 4);
    case 'nack': return 12 + 4 * p.items.length;
    case 'pli': return 12;
    case 'fir': return 12 + 8 * p.entries.length;
    case 'remb': return 20 + 4 * p.ssrcs.length;
    case 'other': return 4 + Math.ceil(p.body.length / 4) * 4;
  }
}

function writeReports(v: DataView, offset: number, reports: ReportBlock[]): void {
  for (const r of reports) {
    v.setUint32(offset, r.ssrc >>> 0);
    v.setUint32(offset + 4, ((r.fractionLost & 0xff) << 24 | (r.packetsLost & 0xffffff)) >>> 0);
    v.setUint32(offset + 8, r.highestSeq >>> 0);
    v.setUint32(offset + 12, r.jitter >>> 0);
    v.setUint32(offset + 16, r.lsr >>> 0);
    v.setUint32(offset + 20, r.dlsr >>> 0);
    offset += 24;
  }
}

function headerFields(p: RtcpPacket): [count: number, pt: number] {
  switch (p.type) {
    case 'sr': return [p.reports.length, RTCP_SR];
    case 'rr': return [p.reports.length, RTCP_RR];
    case 'sdes': return [p.chunks.length, RTCP_SDES];
    case 'bye': return [p.ssrcs.length, RTCP_BYE];
    case 'nack': return [1, RTCP_RTPFB];
    case 'pli': return [PSFB_PLI, RTCP_PSFB];
    case 'fir': return [PSFB_FIR, RTCP_PSFB];
    case 'remb': return [PSFB_AFB, RTCP_PSFB];
    case 'other': return [p.count, p.packetType];
  }
}

/** Writes one packet at `out[offset]` and returns the bytes written. TypeError if it does not fit. */
export function writeRtcpPacket(p: RtcpPacket, out: Uint8Array, offset: number): number {
  const length = rtcpPacketLength(p);
  if (offset < 0 || offset + length > out.length) throw new TypeError(`RTCP packet of ${length} bytes does not fit at offset ${offset}`);
  const [count, pt] = headerFields(p);
  if (count > 31) throw new TypeError(`RTCP count ${count} exceeds 31`);
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.fill(0, offset, offset + length);
  out[offset] = 0x80 | count;
  out[offset + 1] = pt;
  v.setUint16(offset + 2, length / 4 - 1);
  const b = offset + 4;
  switch (p.type) {
    case 'sr':
      v.setUint32(b, p.ssrc >>> 0); v.setUint32(b + 4, p.ntpSeconds >>> 0); v.setUint32(b + 8, p.ntpFraction >>> 0);
      v.setUint32(b + 12, p.rtpTimestamp >>> 0); v.setUint32(b + 16, p.packetCount >>> 0); v.setUint32(b + 20, p.octetCount >>> 0);
      writeReports(v, b + 24, p.reports);
      break;
    case 'rr':
      v.setUint32(b, p.ssrc >>> 0);
      writeReports(v, b + 4, p.reports);
      break;
    case 'sdes': {
      let i = b;
      for (const chunk of p.chunks) {
        const chunkEnd = i + sdesChunkLength(chunk);
        v.setUint32(i, chunk.ssrc >>> 0);
        i += 4;
        for (const item of chunk.items) {
          const text = utf8e.encode(item.text);
          if (text.length > 255) throw new TypeError(`SDES item of ${text.length} bytes exceeds 255`);
          out[i] = item.type;
          out[i + 1] = text.length;
          out.set(text, i + 2);
          i += 2 + text.length;
        }
        i = chunkEnd; // zeros already there
      }
      break;
    }
    case 'bye': {
      p.ssrcs.forEach((s, k) => v.setUint32(b + 4 * k, s >>> 0));
      if (p.reason !== undefined) {
        const text = utf8e.encode(p.reason);
        if (text.length > 255) throw new TypeError(`BYE reason of ${text.length} bytes exceeds 255`);
        const r = b + 4 * p.ssrcs.length;
        out[r] = text.length;
        out.set(text, r + 1);
      }
      break;
    }
    case 'nack':
    case 'pli':
      v.setUint32(b, p.senderSsrc >>> 0);
      v.setUint32(b + 4, p.mediaSsrc >>> 0);
      if (p.type === 'nack') p.items.forEach((it, k) => { v.setUint16(b + 8 + 4 * k, it.pid); v.setUint16(b + 10 + 4 * k, it.blp); });
      break;
    case 'fir':
      v.setUint32(b, p.senderSsrc >>> 0);
      p.entries.forEach((e, k) => { v.setUint32(b + 8 + 8 * k, e.ssrc >>> 0); out[b + 12 + 8 * k] = e.seq & 0xff; });
      break;
    case 'remb': {
      if (p.ssrcs.length > 255) throw new TypeError(`REMB with ${p.ssrcs.length} SSRCs exceeds 255`);
      const [exp, mantissa] = rembExponent(p.bitrate);
      v.setUint32(b, p.senderSsrc >>> 0);
      v.setUint32(b + 8, REMB_ID);
      out[b + 12] = p.ssrcs.length;
      out[b + 13] = (exp << 2) | (mantissa >> 16);
      v.setUint16(b + 14, mantissa & 0xffff);
      p.ssrcs.forEach((s, k) => v.setUint32(b + 16 + 4 * k, s >>> 0));
      break;
    }
    case 'other':
      out.set(p.body, b);
      break;
  }
  return length;
}

/** A bitrate as REMB's 6-bit exponent and 18-bit mantissa, rounded down. */
function rembExponent(bitrate: number): [exp: number, mantissa: number] {
  let value = Math.max(0, Math.floor(bitrate));
  let exp = 0;
  while (value >= 1 << 18) { value = Math.floor(value / 2); exp++; }
  if (exp > 63) throw new TypeError(`REMB bitrate ${bitrate} out of range`);
  return [exp, value];
}

/** Serialises packets into one compound RTCP packet. */
export function buildRtcp(packets: readonly RtcpPacket[]): Buffer {
  const out = Buffer.alloc(packets.reduce((n, p) => n + rtcpPacketLength(p), 0));
  let at = 0;
  for (const p of packets) at += writeRtcpPacket(p, out, at);
  return out;
}

/** The SDES packet every report carries: the CNAME of `ssrc` (RFC 3550 §6.5.1). */
export function cnameSdes(ssrc: number, cname: string): SourceDescription {
  return { type: 'sdes', chunks: [{ ssrc, items: [{ type: SDES_CNAME, text: cname }] }] };
}

/** Generic NACK items (PID + BLP, RFC 4585 §6.2.1) covering the lost sequence numbers. */
export function nackItemsFromSeqs(lost: readonly number[]): NackItem[] {
  const sorted = [...new Set(lost.map((s) => s & 0xffff))].sort((a, b) => ((((a - b) & 0xffff) << 16) >> 16));
  const items: NackItem[] = [];
  for (const seq of sorted) {
    const last = items[items.length - 1];
    const d = last ? (seq - last.pid) & 0xffff : 0;
    if (last && d >= 1 && d <= 16) last.blp |= 1 << (d - 1);
    else items.push({ pid: seq, blp: 0 });
  }
  return items;
}

/** The sequence numbers a generic NACK asks for, in order. */
export function seqsFromNackItems(items: readonly NackItem[]): number[] {
  const out: number[] = [];
  for (const { pid, blp } of items) {
    out.push(pid);
    for (let i = 0; i < 16; i++) if (blp & (1 << i)) out.push((pid + i + 1) & 0xffff);
  }
  return out;
}

/** Seconds between 1900-01-01 (NTP epoch) and 1970-01-01 (Unix epoch). */
const NTP_UNIX_OFFSET = 2208988800;

/** NTP timestamp of a Unix time in ms (e.g. Date.now()). */
export function ntpFromUnixMs(ms: number): { seconds: number; fraction: number } {
  const secs = Math.floor(ms / 1000);
  return { seconds: (secs + NTP_UNIX_OFFSET) >>> 0, fraction: Math.floor(((ms - secs * 1000) / 1000) * 2 ** 32) >>> 0 };
}

/** The Unix time in ms of an NTP timestamp (the inverse of ntpFromUnixMs, to the sub-ms). */
export function unixMsFromNtp(seconds: number, fraction: number): number {
  return (seconds - NTP_UNIX_OFFSET) * 1000 + (fraction / 2 ** 32) * 1000;
}

/** The middle 32 bits of an NTP timestamp (16.16 fixed point seconds): what LSR carries. */
export function ntpMiddle32(seconds: number, fraction: number): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

/**
 * Round-trip time from a report block (RFC 3550 §6.4.1): now - LSR - DLSR, all in 1/65536 s
 * modulo 2^32. `nowMiddle32` is ntpMiddle32 of the arrival time. Undefined if LSR is 0 (the
 * peer has no SR from us yet). In ms.
 */
export function rttMs(nowMiddle32: number, lsr: number, dlsr: number): number | undefined {
  if (lsr === 0) return undefined;
  // Signed: clocks read to the millisecond can put "now" a hair before LSR + DLSR on a fast
  // link; unsigned, that wraps to ~65,536 s. Such a round trip is ~0, not negative.
  const units = (nowMiddle32 - lsr - dlsr) | 0;
  return units <= 0 ? 0 : (units / 65536) * 1000;
}

/** Fraction lost for a report interval, 0..255 (negative loss, from duplicates, reports 0). */
export function fractionLost(expectedInterval: number, receivedInterval: number): number {
  const lost = expectedInterval - receivedInterval;
  if (expectedInterval <= 0 || lost <= 0) return 0;
  return Math.min(255, Math.floor((lost * 256) / expectedInterval));
}

/**
 * One step of the interarrival jitter estimate (RFC 3550 §6.4.1, A.8): `transitDelta` is the
 * change in (arrival - RTP timestamp) between consecutive packets, in RTP units.
 */
export function updateJitter(jitter: number, transitDelta: number): number {
  return jitter + (Math.abs(transitDelta) - jitter) / 16;
}
