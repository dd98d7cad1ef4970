/**
 * Opus for one mono stream, Int16 in and out. Encoding goes through @discordjs/opus (native
 * libopus 1.3.1); decoding through libopus in WebAssembly (opus-wasm.ts), because the native
 * binding's decode() passes decode_fec = 0 always and so cannot reach in-band FEC (LBRR).
 * Both decode a packet to the same samples (checked: identical on 5000 packets of a tone, CELT
 * and SILK); the WebAssembly decoder costs 1.3-1.5x the native one (test/bench/opus.bench.ts).
 * The native encoder has no explicit destroy (its state is freed when garbage collected);
 * release() drops it and makes later calls fail with CLOSED.
 */
import opus from '@discordjs/opus';
import type { OpusEncoder as NativeOpus } from '@discordjs/opus';
import { CallpeerError } from '../errors.js';
import { LossHint } from './loss-hint.js';
import { WasmOpusDecoder } from './opus-wasm.js';
import { int16ToBytes } from './pcm.js';

/** Rates libopus encodes from and decodes to natively, Hz. */
export const OPUS_RATES = [8000, 12000, 16000, 24000, 48000] as const;
export type OpusRate = (typeof OPUS_RATES)[number];

// libopus CTL request numbers (opus_defines.h); @discordjs/opus passes them through.
const OPUS_SET_BITRATE = 4002;
const OPUS_SET_COMPLEXITY = 4010;
const OPUS_SET_INBAND_FEC = 4012;
const OPUS_SET_PACKET_LOSS_PERC = 4014;
const OPUS_SET_SIGNAL = 4024;
const SIGNAL = { auto: -1000, voice: 3001, music: 3002 } as const;

export interface OpusEncoderOptions {
  /** Target bitrate, bits/s (500..512000). Default 32000, what browsers send for mono Opus. */
  bitrate?: number;
  /** 0 (fastest) .. 10 (best). Default 0, see below. */
  complexity?: number;
  /** Signal hint steering the SILK/CELT choice. Default 'music' (keeps CELT, see below). */
  signal?: keyof typeof SIGNAL;
  /**
   * In-band FEC (LBRR): once reportLoss() says the link loses packets, each packet also
   * carries a coarse copy of the one before, which the receiver decodes when that one is lost.
   * Default true; it costs nothing on a clean link (see reportLoss).
   */
  fec?: boolean;
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
  fec: true,
});

/** Room for the longest Opus packet, 120 ms at 48 kHz. */
const MAX_FRAME = 5760;

function checkRate(rate: number): asserts rate is OpusRate {
  if (!(OPUS_RATES as readonly number[]).includes(rate)) throw new TypeError(`Opus rate must be one of ${OPUS_RATES.join(', ')}, got ${rate}`);
}

/** Encodes one stream of mono Int16 frames into Opus packets. */
export class OpusEncoderStream {
  /** Samples in one 20 ms frame at `sampleRate`. */
  readonly frameSamples: number;
  private encoder: NativeOpus | undefined;
  private readonly lossHint: LossHint;
  /** The packet-loss hint set now, % (libopus starts at 0). */
  private lossPercent = 0;

  /** @param options `undefined` fields take OPUS_FAST_DEFAULTS; pass `null` to keep the library defaults. */
  constructor(readonly sampleRate: number, options: OpusEncoderOptions | null = {}) {
    checkRate(sampleRate);
    this.frameSamples = sampleRate / 50;
    const encoder = new opus.OpusEncoder(sampleRate, 1);
    const fec = options === null ? false : options.fec ?? OPUS_FAST_DEFAULTS.fec;
    this.lossHint = new LossHint({ fec });
    if (options !== null) {
      const o = { ...OPUS_FAST_DEFAULTS, ...options };
      try {
        encoder.applyEncoderCTL(OPUS_SET_BITRATE, o.bitrate);
        encoder.applyEncoderCTL(OPUS_SET_COMPLEXITY, o.complexity);
        encoder.applyEncoderCTL(OPUS_SET_SIGNAL, SIGNAL[o.signal]);
        encoder.applyEncoderCTL(OPUS_SET_INBAND_FEC, fec ? 1 : 0);
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

  /**
   * What the receiver reports of this stream: the share of packets lost since its last report,
   * 0..1 (an RTCP receiver report's fraction lost). Smoothed into the encoder's packet-loss
   * hint (LossHint), which makes libopus code FEC for the next frames when FEC is on.
   */
  reportLoss(fractionLost: number): void {
    if (!this.encoder) throw new CallpeerError('CLOSED', 'Opus encoder released');
    const percent = this.lossHint.update(fractionLost);
    if (percent === this.lossPercent) return;
    this.encoder.applyEncoderCTL(OPUS_SET_PACKET_LOSS_PERC, percent);
    this.lossPercent = percent;
  }

  /** The packet-loss hint the encoder works with now, % (0: a clean link). */
  get packetLossPercent(): number {
    return this.lossPercent;
  }

  release(): void {
    this.encoder = undefined;
  }
}

/**
 * Decodes one stream of Opus packets (from any encoder rate) to mono Int16 at `sampleRate`,
 * and makes up the frames of lost packets: from the next packet's in-band FEC (recover) or by
 * libopus's packet-loss concealment (conceal). Callers decode in order and, for a lost packet,
 * call one of those in its place, so the decoder state runs through every 20 ms.
 */
export class OpusDecoderStream {
  /** Samples in one 20 ms frame at `sampleRate`. */
  readonly frameSamples: number;
  private readonly decoder: WasmOpusDecoder;
  private started = false;

  constructor(readonly sampleRate: number) {
    checkRate(sampleRate);
    this.frameSamples = sampleRate / 50;
    this.decoder = new WasmOpusDecoder(sampleRate);
  }

  /**
   * Decodes one packet to its samples at `sampleRate` (960 for 20 ms at 48 kHz). A corrupt or
   * empty packet throws PARSE_ERROR; for a lost packet, call recover() or conceal().
   */
  decode(packet: Uint8Array): Int16Array {
    if (packet.length === 0) throw new CallpeerError('PARSE_ERROR', 'empty Opus packet at offset 0');
    const pcm = this.decoder.decode(packet, MAX_FRAME);
    this.started = true;
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
    if (!this.started) {
      if (this.decoder.closed) throw new CallpeerError('CLOSED', 'Opus decoder released');
      return new Int16Array(this.frameSamples);
    }
    return this.decoder.decode(undefined, this.frameSamples);
  }

  /**
   * The 20 ms frame of a lost packet, rebuilt from the in-band FEC that `next` (the packet
   * after it, not yet decoded) carries; libopus conceals instead when `next` has none (a CELT
   * packet, or FEC off at the sender). Decode `next` itself afterwards, as usual. A corrupt
   * `next` throws PARSE_ERROR (conceal then).
   */
  recover(next: Uint8Array): Int16Array {
    if (next.length === 0) return this.conceal();
    const pcm = this.decoder.decode(next, this.frameSamples, true);
    this.started = true;
    return pcm;
  }

  release(): void {
    this.decoder.release();
  }
}
