/**
 * Ogg bitstream pages (RFC 3533): a page writer with packet lacing across segments and pages,
 * and an incremental reader that verifies each page's CRC. Pure, no I/O.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | capture_pattern "OggS"                                        |  0
 * | version = 0   | header_type   | granule_position (int64 LE)   |  4  flags: 1 continued,
 * |                                                               |  8         2 BOS, 4 EOS
 * |                               | bitstream_serial_number (LE)  | 12
 * |                               | page_sequence_number (LE)     | 16
 * |                               | CRC_checksum (LE)             | 20
 * |                               | page_segments | segment_table | 24  (page_segments bytes)
 * | ...then the segments' data                                    | 27 + page_segments
 *
 * Lacing: a packet is cut into 255-byte segments; a segment shorter than 255 (possibly 0)
 * ends it, so a packet whose last segment is 255 continues on the next page (flag 1).
 * The CRC is CRC-32 with polynomial 0x04c11db7, initial value 0, no reflection, no final xor,
 * over the whole page with the CRC field zeroed.
 */
import { CallpeerError } from '../errors.js';

export const OGG_CONTINUED = 0x01;
export const OGG_BOS = 0x02;
export const OGG_EOS = 0x04;
/** Granule position meaning "no packet finishes on this page". */
export const NO_GRANULE = -1n;
const HEADER = 27;
const CAPTURE = [0x4f, 0x67, 0x67, 0x53]; // "OggS"
const ZERO_CRC = new Uint8Array(4);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

/** CRC of `bytes`, continuing from `crc` (0 to start). */
export function oggCrc(bytes: Uint8Array, crc = 0): number {
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]!) & 0xff]!) >>> 0;
  return crc;
}

export interface OggPageSpec {
  flags: number;
  granule: bigint;
  serial: number;
  sequence: number;
  /** Lacing values, at most 255. */
  lacing: readonly number[];
  /** The segments' data, as many bytes as the lacing values sum to. */
  body: readonly Uint8Array[];
}

/** Serialises one page and fills in its CRC. */
export function writeOggPage(p: OggPageSpec): Buffer {
  if (p.lacing.length > 255) throw new TypeError(`an Ogg page holds at most 255 segments, got ${p.lacing.length}`);
  const bodyLength = p.body.reduce((n, b) => n + b.length, 0);
  if (p.lacing.reduce((n, l) => n + l, 0) !== bodyLength) throw new TypeError('Ogg lacing values do not add up to the body length');
  const page = Buffer.alloc(HEADER + p.lacing.length + bodyLength);
  page.set(CAPTURE, 0);
  page[5] = p.flags;
  page.writeBigInt64LE(p.granule, 6);
  page.writeUInt32LE(p.serial >>> 0, 14);
  page.writeUInt32LE(p.sequence >>> 0, 18);
  page[26] = p.lacing.length;
  page.set(p.lacing, HEADER);
  let at = HEADER + p.lacing.length;
  for (const b of p.body) { page.set(b, at); at += b.length; }
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

/**
 * Packs the packets of one logical stream into pages. Packets wait until flush() (or until
 * 255 segments are pending, which fills a page); a page's granule is that of the last packet
 * finishing on it. The first page gets BOS; pass `eos` to the last flush.
 */
export class OggStreamWriter {
  private sequence = 0;
  private pending: Array<{ data: Uint8Array; granule: bigint }> = [];
  /** Bytes of pending[0] already written on earlier pages (a packet split across pages). */
  private firstOffset = 0;
  private pendingSegments = 0;

  constructor(readonly serial: number) {}

  /** Queues a packet; returns any pages that became full (often none). */
  write(packet: Uint8Array, granule: bigint): Buffer[] {
    this.pending.push({ data: packet, granule });
    this.pendingSegments += Math.floor(packet.length / 255) + 1;
    const pages: Buffer[] = [];
    while (this.pendingSegments >= 255) pages.push(this.page(false));
    return pages;
  }

  /** Writes every pending packet out (one page, or more for > 255 segments). With `eos`, always a page. */
  flush(eos = false): Buffer[] {
    const pages: Buffer[] = [];
    while (this.pending.length > 0) pages.push(this.page(eos));
    if (eos && pages.length === 0) pages.push(this.page(true)); // an empty EOS page
    return pages;
  }

  /** Emits one page of up to 255 segments from the front of the queue. */
  private page(eos: boolean): Buffer {
    const lacing: number[] = [];
    const body: Uint8Array[] = [];
    let granule = NO_GRANULE;
    const continued = this.firstOffset > 0;
    while (this.pending.length > 0 && lacing.length < 255) {
      const { data, granule: g } = this.pending[0]!;
      const rest = data.length - this.firstOffset;
      const room = 255 - lacing.length;
      const need = Math.floor(rest / 255) + 1; // the last value < 255, possibly 0
      if (need <= room) {
        for (let i = 0; i < need - 1; i++) lacing.push(255);
        lacing.push(rest % 255);
        body.push(data.subarray(this.firstOffset));
        granule = g;
        this.pending.shift();
        this.firstOffset = 0;
        this.pendingSegments -= need;
      } else {
        for (let i = 0; i < room; i++) lacing.push(255);
        body.push(data.subarray(this.firstOffset, this.firstOffset + 255 * room));
        this.firstOffset += 255 * room;
        this.pendingSegments -= room;
      }
    }
    const last = eos && this.pending.length === 0;
    const flags = (continued ? OGG_CONTINUED : 0) | (this.sequence === 0 ? OGG_BOS : 0) | (last ? OGG_EOS : 0);
    return writeOggPage({ flags, granule, serial: this.serial, sequence: this.sequence++, lacing, body });
  }
}

export interface OggPacket {
  serial: number;
  data: Uint8Array;
  /** The page's granule if this is the last packet finishing on its page, else NO_GRANULE. */
  granule: bigint;
  pageSequence: number;
  /** First packet of its logical stream. */
  bos: boolean;
  /** Last packet finishing on an EOS page. */
  eos: boolean;
}

export interface OggReaderOptions {
  /** Called with a PARSE_ERROR for each bad page, gap or truncation; reading goes on. Default: collect in `errors`. */
  onError?: (err: CallpeerError) => void;
}

interface StreamState {
  nextSequence: number;
  partial: Uint8Array[];
  started: boolean;
}

/**
 * Incremental Ogg reader: push(chunk) returns the packets completed so far, across pages and
 * chunk boundaries. Never throws on bad input: a page with a bad CRC or version, a sequence
 * gap or trailing garbage is reported through onError (PARSE_ERROR, with the stream offset),
 * and reading resumes at the next "OggS". Call end() at end of input to report a truncation.
 */
export class OggReader {
  /** Errors seen when no onError was given (the first 100). */
  readonly errors: CallpeerError[] = [];
  private buf: Uint8Array = new Uint8Array(0);
  /** Stream offset of buf[0]. */
  private base = 0;
  private readonly streams = new Map<number, StreamState>();
  private readonly report: (err: CallpeerError) => void;
  /** Skipping bytes after a bad page: the garbage is not reported again. */
  private resyncing = false;

  constructor(options: OggReaderOptions = {}) {
    this.report = options.onError ?? ((err) => { if (this.errors.length < 100) this.errors.push(err); });
  }

  push(chunk: Uint8Array): OggPacket[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    this.buf = joined;
    const out: OggPacket[] = [];
    let at = 0;
    for (;;) {
      const sync = this.findCapture(at);
      if (sync < 0) {
        const keep = Math.max(at, this.buf.length - 3); // a possible "Ogg" prefix
        if (keep > at && !this.resyncing) this.fail('bytes that are not an Ogg page', at);
        this.resyncing ||= keep > at;
        at = keep;
        break;
      }
      if (sync > at && !this.resyncing) this.fail(`${sync - at} bytes of garbage before a page`, at);
      at = sync;
      if (this.buf.length - at < HEADER) break;
      const segments = this.buf[at + 26]!;
      const headerLength = HEADER + segments;
      if (this.buf.length - at < headerLength) break;
      let bodyLength = 0;
      for (let i = 0; i < segments; i++) bodyLength += this.buf[at + HEADER + i]!;
      if (this.buf.length - at < headerLength + bodyLength) break;
      const page = this.buf.subarray(at, at + headerLength + bodyLength);
      if (this.checkPage(page, at)) {
        this.readPage(page, at, out);
        this.resyncing = false;
        at += page.length;
      } else {
        this.resyncing = true;
        at += 1; // resynchronise on the next capture pattern
      }
    }
    this.buf = this.buf.slice(at);
    this.base += at;
    return out;
  }

  /**
   * At end of input: reports leftover bytes or an unfinished packet (a truncated stream) and
   * returns the packets of any whole pages found past a false "OggS" that claimed more bytes.
   */
  end(): OggPacket[] {
    const out: OggPacket[] = [];
    if (this.buf.length > 0) this.fail(`stream ends inside a page (${this.buf.length} bytes left)`, 0);
    while (this.buf.length > 0) {
      this.resyncing = true;
      this.buf = this.buf.subarray(1);
      this.base += 1;
      out.push(...this.push(new Uint8Array(0)));
      if (this.buf.length <= 3 && this.findCapture(0) < 0) break; // nothing left that could be a page
    }
    for (const [serial, s] of this.streams) {
      if (s.partial.length > 0) this.fail(`stream ${serial} ends inside a packet`, this.buf.length);
    }
    this.buf = new Uint8Array(0);
    this.streams.clear();
    return out;
  }

  private findCapture(from: number): number {
    const b = this.buf;
    for (let i = from; i + 4 <= b.length; i++) {
      if (b[i] === 0x4f && b[i + 1] === 0x67 && b[i + 2] === 0x67 && b[i + 3] === 0x53) return i;
    }
    return -1;
  }

  private fail(message: string, offset: number): void {
    this.report(new CallpeerError('PARSE_ERROR', `Ogg: ${message} at offset ${this.base + offset}`));
  }

  private checkPage(page: Uint8Array, at: number): boolean {
    if (page[4] !== 0) { this.fail(`page version ${page[4]}`, at); return false; }
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    const stored = view.getUint32(22, true);
    const crc = oggCrc(page.subarray(26), oggCrc(ZERO_CRC, oggCrc(page.subarray(0, 22))));
    if (crc !== stored) { this.fail('page CRC mismatch', at); return false; }
    return true;
  }

  private readPage(page: Uint8Array, at: number, out: OggPacket[]): void {
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    const flags = page[5]!;
    const granule = view.getBigInt64(6, true);
    const serial = view.getUint32(14, true);
    const sequence = view.getUint32(18, true);
    const segments = page[26]!;
    let s = this.streams.get(serial);
    if (!s) { s = { nextSequence: sequence, partial: [], started: false }; this.streams.set(serial, s); }
    let skipContinuation = false;
    if (sequence !== s.nextSequence) {
      this.fail(`stream ${serial} page ${sequence} follows page ${s.nextSequence - 1}: pages lost`, at);
      s.partial = [];
      skipContinuation = (flags & OGG_CONTINUED) !== 0;
    } else if ((flags & OGG_CONTINUED) === 0 && s.partial.length > 0) {
      this.fail(`stream ${serial} page ${sequence} drops an unfinished packet`, at);
      s.partial = [];
    }
    s.nextSequence = (sequence + 1) >>> 0;
    const first = out.length;
    let bodyAt = HEADER + segments;
    let segStart = bodyAt;
    for (let i = 0; i < segments; i++) {
      const lace = page[HEADER + i]!;
      bodyAt += lace;
      if (lace === 255) continue;
      const piece = page.subarray(segStart, bodyAt);
      segStart = bodyAt;
      if (skipContinuation) { skipContinuation = false; continue; } // tail of a packet we lost
      s.partial.push(piece);
      const data = s.partial.length === 1 ? s.partial[0]!.slice() : Buffer.concat(s.partial);
      s.partial = [];
      out.push({ serial, data, granule: NO_GRANULE, pageSequence: sequence, bos: !s.started, eos: false });
      s.started = true;
    }
    if (segStart < bodyAt && !skipContinuation) s.partial.push(page.slice(segStart, bodyAt));
    if (out.length > first) {
      const last = out[out.length - 1]!;
      last.granule = granule;
      last.eos = (flags & OGG_EOS) !== 0;
    }
  }
}

/** Where one whole, CRC-checked page sits in a file, and what its header says. */
export interface OggPageInfo {
  offset: number;
  length: number;
  flags: number;
  granule: bigint;
  serial: number;
  sequence: number;
}

/**
 * The whole pages at the start of `bytes`, in order, stopping at the first that is cut short,
 * fails its CRC, is not a page, or breaks its stream's page sequence (a page written again
 * by a writer that died and was restarted): what survives of a file whose writer died
 * mid-page. Pure.
 */
export function scanOggPages(bytes: Uint8Array): OggPageInfo[] {
  const pages: OggPageInfo[] = [];
  const nextSequence = new Map<number, number>();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + HEADER <= bytes.length) {
    if (bytes[at] !== 0x4f || bytes[at + 1] !== 0x67 || bytes[at + 2] !== 0x67 || bytes[at + 3] !== 0x53 || bytes[at + 4] !== 0) break;
    const segments = bytes[at + 26]!;
    if (at + HEADER + segments > bytes.length) break;
    let bodyLength = 0;
    for (let i = 0; i < segments; i++) bodyLength += bytes[at + HEADER + i]!;
    const length = HEADER + segments + bodyLength;
    if (at + length > bytes.length) break;
    // Over the page with its CRC field zeroed, read in place (`bytes` is not ours to change).
    const crc = oggCrc(bytes.subarray(at + 26, at + length), oggCrc(ZERO_CRC, oggCrc(bytes.subarray(at, at + 22))));
    if (crc !== view.getUint32(at + 22, true)) break;
    const serial = view.getUint32(at + 14, true);
    const sequence = view.getUint32(at + 18, true);
    const expected = nextSequence.get(serial);
    if (expected !== undefined && sequence !== expected) break;
    nextSequence.set(serial, sequence + 1);
    pages.push({ offset: at, length, flags: bytes[at + 5]!, granule: view.getBigInt64(at + 6, true), serial, sequence });
    at += length;
  }
  return pages;
}
