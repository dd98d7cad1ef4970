/**
 * Thin wrapper over @discordjs/opus (libopus): one encoder or decoder per stream, mono,
 * Int16 in and out. The native object has no explicit destroy (libopus state is freed when
 * it is garbage collected); release() drops it and makes later calls fail with CLOSED.
 *
 * Loss: the binding's decode(buf) (node-opus.cc, 0.10.0) calls opus_decode with decode_fec = 0
 * always and room for 5760 samples (120 ms at 48 kHz), so in-band FEC (LBRR) cannot be reached
 * from here, and an empty buffer would conceal 120 ms at once. libopus's own PLC is reachable 20 ms at a time, though: a packet of
 * just a TOC byte (no frame data, as Opus DTX sends) is concealed for the TOC's frame size.
 */
import opus from '@discordjs/opus';
import type { OpusEncoder as NativeOpus } from '@discordjs/opus';
import { CallpeerError } from '../errors.js';
import { opusConcealToc } from './opus-packet.js';
import { bytesToInt16, int16ToBytes } from './pcm.js';

/** Rates libopus encodes from and decodes to natively, Hz. */
export const OPUS_RATES = [8000, 12000, 16000, 24000, 48000] as const;
export type OpusRate = (typeof OPUS_RATES)[number];

// libopus CTL request numbers (opus_defines.h); @discordjs/opus passes them through.
const OPUS_SET_BITRATE = 4002;
const OPUS_SET_COMPLEXITY = 4010;
const OPUS_SET_SIGNAL = 4024;
const SIGNAL = { auto: -1000, voice: 3001, music: 3002 } as const;

export interface OpusEncoderOptions {
  /** Target bitrate, bits/s (500..512000). Default 32000, what browsers send for mono Opus. */
  bitrate?: number;
  /** 0 (fastest) .. 10 (best). Default 0, see below. */
  complexity?: number;
  /** Signal hint steering the SILK/CELT choice. Default 'music' (keeps CELT, see below). */
  signal?: keyof typeof SIGNAL;
}

/**
 * Defaults chosen for speed, measured on this machine (2 shared cores, 440 Hz tone, mono
 * 48 kHz, 20 ms frames; test/bench/opus.bench.ts):
 *   library default (complexity 9, ~51 kbit/s, application AUDIO): ~81-92 µs per encode
 *   complexity 0:                                                  ~25 µs
 *   complexity 0 + 32 kbit/s + signal music (CELT only):           ~18 µs, 81-byte packets
 *   complexity 0 + signal voice (SILK/hybrid):                     ~67 µs, slower
 *   application VOIP + complexity 0:                               ~90 µs (SILK), slower
 * At 16 kHz the default bitrate picks SILK (~43 µs at complexity 0) while 32 kbit/s + music
 * stays CELT (~17 µs). Every setting above decodes a tone to within ±1 Hz.
 */
export const OPUS_FAST_DEFAULTS: Readonly<Required<OpusEncoderOptions>> = Object.freeze({
  bitrate: 32000,
  complexity: 0,
  signal: 'music',
});

function checkRate(rate: number): asserts rate is OpusRate {
  if (!(OPUS_RATES as readonly number[]).includes(rate)) throw new TypeError(`Opus rate must be one of ${OPUS_RATES.join(', ')}, got ${rate}`);
}

/** Encodes one stream of mono Int16 frames into Opus packets. */
export class OpusEncoderStream {
  /** Samples in one 20 ms frame at `sampleRate`. */
  readonly frameSamples: number;
  private encoder: NativeOpus | undefined;

  /** @param options `undefined` fields take OPUS_FAST_DEFAULTS; pass `null` to keep the library defaults. */
  constructor(readonly sampleRate: number, options: OpusEncoderOptions | null = {}) {
    checkRate(sampleRate);
    this.frameSamples = sampleRate / 50;
    const encoder = new opus.OpusEncoder(sampleRate, 1);
    if (options !== null) {
      const o = { ...OPUS_FAST_DEFAULTS, ...options };
      try {
        encoder.applyEncoderCTL(OPUS_SET_BITRATE, o.bitrate);
        encoder.applyEncoderCTL(OPUS_SET_COMPLEXITY, o.complexity);
        encoder.applyEncoderCTL(OPUS_SET_SIGNAL, SIGNAL[o.signal]);
      } catch (err) {
        throw new TypeError(`bad Opus encoder option: ${JSON.stringify(options)}`, { cause: err });
      }
    }
    this.encoder = encoder;
  }

  /**
   * Encodes one frame of 2.5, 5, 10, 20, 40 or 60 ms (20 ms is what everything here sends)
   * into one packet. The frame is read in place, not copied.
   */
  encode(frame: Int16Array): Buffer {
    const encoder = this.encoder;
    if (!encoder) throw new CallpeerError('CLOSED', 'Opus encoder released');
    const ms = (frame.length * 1000) / this.sampleRate;
    if (![2.5, 5, 10, 20, 40, 60].includes(ms)) {
      throw new TypeError(`an Opus frame must last 2.5/5/10/20/40/60 ms, got ${frame.length} samples at ${this.sampleRate} Hz`);
    }
    return encoder.encode(int16ToBytes(frame));
  }

  /** Sets the target bitrate, bits/s (500..512000), from the next frame on. */
  setBitrate(bitsPerSecond: number): void {
    if (!this.encoder) throw new CallpeerError('CLOSED', 'Opus encoder released');
    if (!(Number.isInteger(bitsPerSecond) && bitsPerSecond >= 500 && bitsPerSecond <= 512_000)) throw new TypeError(`Opus bitrate must be 500..512000 bits/s, got ${bitsPerSecond}`);
    this.encoder.applyEncoderCTL(OPUS_SET_BITRATE, bitsPerSecond);
  }

  release(): void {
    this.encoder = undefined;
  }
}

/** Decodes one stream of Opus packets (from any encoder rate) to mono Int16 at `sampleRate`. */
export class OpusDecoderStream {
  /** Samples in one 20 ms frame at `sampleRate`. */
  readonly frameSamples: number;
  private decoder: NativeOpus | undefined;
  /** A TOC-only packet that conceals 20 ms in the mode of the last packet decoded (none yet: undefined). */
  private concealPacket: Buffer | undefined;

  constructor(readonly sampleRate: number) {
    checkRate(sampleRate);
    this.frameSamples = sampleRate / 50;
    this.decoder = new opus.OpusEncoder(sampleRate, 1);
  }

  /**
   * Decodes one packet to its samples at `sampleRate` (960 for 20 ms at 48 kHz). A corrupt or
   * empty packet throws PARSE_ERROR; for a lost packet, call conceal().
   */
  decode(packet: Uint8Array): Int16Array {
    if (packet.length === 0) throw new CallpeerError('PARSE_ERROR', 'empty Opus packet at offset 0');
    const pcm = this.run(packet, `Opus packet of ${packet.length} bytes does not decode`);
    const toc = opusConcealToc(packet[0]!);
    if (this.concealPacket?.[0] !== toc) this.concealPacket = Buffer.of(toc);
    return pcm;
  }

  /**
   * One 20 ms frame of libopus packet-loss concealment in place of a lost packet: it continues
   * the signal from the last frame decoded (pitch-repeated and fading in CELT, fading in SILK)
   * and leaves the decoder ready for the next packet. Silence before any packet was decoded.
   * Successive calls fade further, but slowly in CELT (after 5 frames it turns to noise, still
   * audible 200 ms on), so a caller concealing long gaps fades out itself.
   */
  conceal(): Int16Array {
    if (!this.concealPacket) {
      if (!this.decoder) throw new CallpeerError('CLOSED', 'Opus decoder released');
      return new Int16Array(this.frameSamples);
    }
    return this.run(this.concealPacket, 'Opus concealment failed');
  }

  private run(packet: Uint8Array, failure: string): Int16Array {
    const decoder = this.decoder;
    if (!decoder) throw new CallpeerError('CLOSED', 'Opus decoder released');
    let pcm: Buffer;
    try {
      pcm = decoder.decode(Buffer.isBuffer(packet) ? packet : Buffer.from(packet.buffer, packet.byteOffset, packet.length));
    } catch (err) {
      throw new CallpeerError('PARSE_ERROR', failure, { cause: err });
    }
    // A fresh native copy is normally aligned; copy only if not.
    return pcm.byteOffset % 2 === 0 ? new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2) : bytesToInt16(pcm);
  }

  release(): void {
    this.decoder = undefined;
  }
}
