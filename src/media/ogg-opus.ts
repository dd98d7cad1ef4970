/**
 * Ogg Opus (RFC 7845): the OpusHead and OpusTags header packets, a writer that pages Opus
 * packets with their granule positions, and a reader giving packets with theirs. Granule
 * positions count 48 kHz samples from the start of decoding, pre-skip included, so playback
 * time of a sample is (granule - preSkip) / 48000 s. Pure, no I/O: the caller writes the bytes.
 *
 * OpusHead (mapping family 0, 19 bytes):      OpusTags:
 *   "OpusHead"            8 bytes               "OpusTags"                 8 bytes
 *   version = 1           1                     vendor length (LE)         4
 *   channel count         1                     vendor string (UTF-8)      n
 *   pre-skip (LE)         2   48 kHz samples    comment count (LE)         4
 *   input sample rate     4   Hz, informative   per comment: length (LE) 4, "KEY=value"
 *   output gain (LE)      2   Q7.8 dB
 *   mapping family = 0    1
 */
import { CallpeerError } from '../errors.js';
import { NO_GRANULE, OggReader, OggStreamWriter, type OggPacket, type OggReaderOptions } from './ogg.js';
import { opusPacketSamples48k } from './opus-packet.js';

/** Pre-skip libopus encoders need (lookahead at 48 kHz); what opusenc writes. */
export const DEFAULT_PRE_SKIP = 312;

export interface OpusHead {
  version: number;
  channels: number;
  /** Samples at 48 kHz to drop at the start of decoding. */
  preSkip: number;
  /** Rate of the original input, Hz (informative only; Opus always decodes at 48 kHz here). */
  inputSampleRate: number;
  /** Q7.8 dB gain to apply on output. */
  outputGain: number;
  mappingFamily: number;
}

export interface OpusTags {
  vendor: string;
  /** "KEY=value" strings. */
  comments: string[];
}

const MAGIC_HEAD = Buffer.from('OpusHead');
/** Returned when there are no bytes to write (shared: callers only read its length). */
const NOTHING = Buffer.alloc(0);
const MAGIC_TAGS = Buffer.from('OpusTags');

function parseError(message: string, offset: number): CallpeerError {
  return new CallpeerError('PARSE_ERROR', `Ogg Opus: ${message} at offset ${offset}`);
}

function startsWith(packet: Uint8Array, magic: Buffer): boolean {
  return packet.length >= magic.length && magic.equals(packet.subarray(0, magic.length));
}

export function writeOpusHead(h: Partial<OpusHead> = {}): Buffer {
  const b = Buffer.alloc(19);
  MAGIC_HEAD.copy(b, 0);
  b[8] = h.version ?? 1;
  b[9] = h.channels ?? 1;
  b.writeUInt16LE(h.preSkip ?? DEFAULT_PRE_SKIP, 10);
  b.writeUInt32LE(h.inputSampleRate ?? 48000, 12);
  b.writeInt16LE(h.outputGain ?? 0, 16);
  b[18] = h.mappingFamily ?? 0;
  return b;
}

/** Parses OpusHead; mapping family 0 only (mono/stereo), as everything here is. */
export function parseOpusHead(packet: Uint8Array): OpusHead {
  if (!startsWith(packet, MAGIC_HEAD)) throw parseError('first packet is not OpusHead', 0);
  if (packet.length < 19) throw parseError(`OpusHead of ${packet.length} bytes, needs 19`, packet.length);
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.length);
  const head = {
    version: b[8]!, channels: b[9]!, preSkip: b.readUInt16LE(10), inputSampleRate: b.readUInt32LE(12),
    outputGain: b.readInt16LE(16), mappingFamily: b[18]!,
  };
  if (head.version >> 4 !== 0) throw parseError(`OpusHead version ${head.version} unsupported`, 8);
  if (head.channels === 0) throw parseError('OpusHead with 0 channels', 9);
  if (head.mappingFamily !== 0) throw parseError(`channel mapping family ${head.mappingFamily} unsupported`, 18);
  return head;
}

export function writeOpusTags(t: OpusTags): Buffer {
  const strings = [t.vendor, ...t.comments].map((s) => Buffer.from(s, 'utf8'));
  const b = Buffer.alloc(8 + 4 + strings.reduce((n, s) => n + 4 + s.length, 0)); // magic, comment count, strings
  MAGIC_TAGS.copy(b, 0);
  let at = 8;
  const put = (s: Buffer): void => { b.writeUInt32LE(s.length, at); s.copy(b, at + 4); at += 4 + s.length; };
  put(strings[0]!);
  b.writeUInt32LE(t.comments.length, at);
  at += 4;
  for (const s of strings.slice(1)) put(s);
  return b;
}

export function parseOpusTags(packet: Uint8Array): OpusTags {
  if (!startsWith(packet, MAGIC_TAGS)) throw parseError('second packet is not OpusTags', 0);
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.length);
  let at = 8;
  const get = (): string => {
    if (at + 4 > b.length) throw parseError('OpusTags length past the end', at);
    const n = b.readUInt32LE(at);
    if (at + 4 + n > b.length) throw parseError(`OpusTags string of ${n} bytes past the end`, at);
    const s = b.toString('utf8', at + 4, at + 4 + n);
    at += 4 + n;
    return s;
  };
  const vendor = get();
  if (at + 4 > b.length) throw parseError('OpusTags comment count past the end', at);
  const count = b.readUInt32LE(at);
  at += 4;
  const comments: string[] = [];
  for (let i = 0; i < count; i++) comments.push(get());
  return { vendor, comments };
}

export interface OggOpusWriterOptions {
  /** Ogg stream serial number. Default: random. */
  serial?: number;
  /** Default 312 (libopus lookahead). */
  preSkip?: number;
  /** Informative input rate in OpusHead, Hz. Default 48000. */
  inputSampleRate?: number;
  /** Default "callpeer". */
  vendor?: string;
  /** "KEY=value" comments. Default none. */
  comments?: string[];
  /**
   * Audio per page, ms. Default 1000: a crash loses at most ~1 s (plus what the caller has not
   * written out). 0 writes a page per packet (~27 bytes of overhead per packet).
   */
  pageDurationMs?: number;
}

/**
 * Pages a mono Opus stream. Each method returns the bytes to append to the file (possibly
 * empty); the first call's bytes start with the two header pages. Call close() for the EOS page.
 */
export class OggOpusWriter {
  private readonly ogg: OggStreamWriter;
  private readonly options: OggOpusWriterOptions;
  private readonly pageSamples: number;
  private started = false;
  private closed = false;
  private lastGranule = 0;
  private pageStartGranule = 0;

  constructor(options: OggOpusWriterOptions = {}) {
    this.options = options;
    this.ogg = new OggStreamWriter(options.serial ?? Math.floor(Math.random() * 2 ** 32));
    this.pageSamples = ((options.pageDurationMs ?? 1000) * 48000) / 1000;
  }

  /** Granule position after the last packet written. */
  get granule(): number {
    return this.lastGranule;
  }

  /** The OpusHead and OpusTags pages; later calls return nothing. Write it at once for a valid empty file. */
  start(): Buffer {
    if (this.started) return Buffer.alloc(0);
    this.started = true;
    const o = this.options;
    const head = writeOpusHead({ preSkip: o.preSkip ?? DEFAULT_PRE_SKIP, inputSampleRate: o.inputSampleRate ?? 48000 });
    const tags = writeOpusTags({ vendor: o.vendor ?? 'callpeer', comments: o.comments ?? [] });
    // Each header must end its page (RFC 7845 §3): flush after each.
    this.ogg.write(head, 0n);
    const pages = this.ogg.flush();
    this.ogg.write(tags, 0n);
    return Buffer.concat([...pages, ...this.ogg.flush()]);
  }

  /**
   * Adds one packet. `granule` is the position after this packet (48 kHz samples, pre-skip
   * included); by default the previous one plus the packet's duration from its TOC. A jump
   * (lost packets) is kept as given: players treat it as a gap.
   */
  write(packet: Uint8Array, granule?: number): Buffer {
    if (this.closed) throw new CallpeerError('CLOSED', 'Ogg Opus writer closed');
    const g = granule ?? this.lastGranule + opusPacketSamples48k(packet);
    if (!Number.isSafeInteger(g) || g < this.lastGranule) throw new TypeError(`granule ${g} goes backwards (last ${this.lastGranule})`);
    const head = this.started ? undefined : this.start();
    this.lastGranule = g;
    const pages = this.ogg.write(packet, BigInt(g));
    if (g - this.pageStartGranule >= this.pageSamples) pages.push(...this.ogg.flush());
    if (pages.length > 0) this.pageStartGranule = g;
    else if (!head) return NOTHING; // the common case: the packet waits for its page
    return Buffer.concat(head ? [head, ...pages] : pages);
  }

  /** Writes pending packets out now (e.g. on a timer). */
  flush(): Buffer {
    if (this.closed) return Buffer.alloc(0);
    const head = this.start();
    this.pageStartGranule = this.lastGranule;
    return Buffer.concat([head, ...this.ogg.flush()]);
  }

  /** The last page(s), with EOS. Idempotent. */
  close(): Buffer {
    if (this.closed) return Buffer.alloc(0);
    const head = this.start();
    this.closed = true;
    return Buffer.concat([head, ...this.ogg.flush(true)]);
  }
}

export interface OggOpusPacket {
  data: Uint8Array;
  /** Granule position after this packet: 48 kHz samples, pre-skip included. */
  granule: number;
  /** Last packet of the stream. */
  eos: boolean;
}

/**
 * Incremental Ogg Opus reader for the first logical stream: push(chunk) gives audio packets
 * with their end granules; `head` and `tags` fill in as they arrive. Like OggReader it never
 * throws mid-stream: bad pages and headers go to onError (or `errors`) as PARSE_ERROR.
 */
export class OggOpusReader {
  head: OpusHead | undefined;
  tags: OpusTags | undefined;
  private readonly ogg: OggReader;
  private readonly report: (err: CallpeerError) => void;
  private serial: number | undefined;
  private headerPackets = 0;

  constructor(options: OggReaderOptions = {}) {
    this.ogg = new OggReader(options);
    this.report = options.onError ?? ((err) => { if (this.ogg.errors.length < 100) this.ogg.errors.push(err); });
  }

  get errors(): readonly CallpeerError[] {
    return this.ogg.errors;
  }

  push(chunk: Uint8Array): OggOpusPacket[] {
    return this.consume(this.ogg.push(chunk));
  }

  /** At end of input: reports a truncation or missing headers (PARSE_ERROR); returns any last packets. */
  end(): OggOpusPacket[] {
    const out = this.consume(this.ogg.end());
    if (this.headerPackets < 2) this.report(parseError('stream ends before the OpusHead and OpusTags headers', 0));
    return out;
  }

  private consume(packets: OggPacket[]): OggOpusPacket[] {
    const out: OggOpusPacket[] = [];
    const page: Array<{ data: Uint8Array; samples: number }> = [];
    for (const p of packets) {
      if (this.serial === undefined && p.bos) this.serial = p.serial;
      if (p.serial !== this.serial) continue;
      if (this.headerPackets < 2) {
        this.readHeader(p.data);
        continue;
      }
      let samples = 0;
      try { samples = opusPacketSamples48k(p.data); } catch (err) { this.report(err as CallpeerError); }
      page.push({ data: p.data, samples });
      if (p.granule === NO_GRANULE) continue;
      // The page's granule is the end of its last packet: count back for the others.
      let end = Number(p.granule);
      const ends = page.map(() => 0);
      for (let i = page.length - 1; i >= 0; i--) { ends[i] = end; end -= page[i]!.samples; }
      page.forEach((q, i) => out.push({ data: q.data, granule: ends[i]!, eos: p.eos && i === page.length - 1 }));
      page.length = 0;
    }
    return out;
  }

  private readHeader(data: Uint8Array): void {
    try {
      if (this.headerPackets === 0) this.head = parseOpusHead(data);
      else this.tags = parseOpusTags(data);
    } catch (err) {
      this.report(err as CallpeerError);
    }
    this.headerPackets++;
  }
}

/** Reads a whole Ogg Opus file; throws the first PARSE_ERROR (bad page, truncation, bad header). */
export function readOggOpus(bytes: Uint8Array): { head: OpusHead; tags: OpusTags; packets: OggOpusPacket[] } {
  let first: CallpeerError | undefined;
  const reader = new OggOpusReader({ onError: (err) => { first ??= err; } });
  const packets = [...reader.push(bytes), ...reader.end()];
  if (first) throw first;
  return { head: reader.head!, tags: reader.tags!, packets };
}
