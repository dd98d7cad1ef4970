import { describe, expect, it } from 'vitest';
import { OPUS_RATES, OpusDecoderStream, OpusEncoderStream } from '../../../src/media/opus.js';
import { opusConcealToc } from '../../../src/media/opus-packet.js';
import { ToneGenerator } from '../../../src/media/tone.js';
import { dominantFrequency, rms, toneShare } from '../../../src/media/analysis.js';

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

describe('Opus streams', () => {
  it.each(OPUS_RATES.map((r) => [r]))('a 440 Hz tone at %i Hz survives encode/decode within ±1 Hz', (rate) => {
    const gen = new ToneGenerator(440, rate);
    const enc = new OpusEncoderStream(rate);
    const dec = new OpusDecoderStream(rate);
    const out: Int16Array[] = [];
    for (let i = 0; i < 60; i++) {
      const packet = enc.encode(gen.next(enc.frameSamples));
      expect(packet.length).toBeLessThan(120); // ~32 kbit/s: 80 bytes per 20 ms
      const pcm = dec.decode(packet);
      expect(pcm.length).toBe(rate / 50);
      out.push(pcm);
    }
    const steady = concat(out).subarray(rate / 10);
    expect(Math.abs(dominantFrequency(steady, rate) - 440)).toBeLessThanOrEqual(1);
    expect(rms(steady)).toBeGreaterThan(0.25);
  });

  it('decodes a 48 kHz stream at 16 kHz natively', () => {
    const gen = new ToneGenerator(1000, 48000);
    const enc = new OpusEncoderStream(48000);
    const dec = new OpusDecoderStream(16000);
    const out: Int16Array[] = [];
    for (let i = 0; i < 40; i++) out.push(dec.decode(enc.encode(gen.next(960))));
    expect(out[0]!.length).toBe(320);
    expect(Math.abs(dominantFrequency(concat(out).subarray(1600), 16000) - 1000)).toBeLessThanOrEqual(1);
  });

  it('keeps the library defaults when asked (null options)', () => {
    const enc = new OpusEncoderStream(48000, null);
    const gen = new ToneGenerator(440, 48000);
    let bytes = 0;
    for (let i = 0; i < 10; i++) bytes += enc.encode(gen.next(960)).length;
    expect(bytes / 10).toBeGreaterThan(100); // library default ~64 kbit/s: ~128 bytes
  });

  it('answers PARSE_ERROR for a corrupt or empty packet', () => {
    const dec = new OpusDecoderStream(48000);
    // TOC 0xfb: CELT FB 20 ms, code 3 (arbitrary frames) with a frame count byte of 0: invalid
    expect(() => dec.decode(Buffer.from([0xfb, 0x00]))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
    expect(() => dec.decode(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
  });

  it('refuses a frame that is not an Opus frame duration, and use after release', () => {
    const enc = new OpusEncoderStream(48000);
    expect(() => enc.encode(new Int16Array(1000))).toThrow(TypeError);
    enc.release();
    expect(() => enc.encode(new Int16Array(960))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    expect(() => new OpusEncoderStream(44100)).toThrow(TypeError);
  });
});

describe('Opus concealment (libopus PLC)', () => {
  it.each([
    ['CELT (the gateway and Node senders: signal music)', 'music', 32000],
    ['hybrid (a voice at 32 kbit/s)', 'voice', 32000],
    ['SILK (a voice at 16 kbit/s)', 'voice', 16000],
  ] as const)('a lost 20 ms frame of a 440 Hz tone is made up as its continuation: %s', (_name, signal, bitrate) => {
    const gen = new ToneGenerator(440, 48000);
    const enc = new OpusEncoderStream(48000, { signal, bitrate });
    const packets = Array.from({ length: 24 }, () => enc.encode(gen.next(960)));
    const truth = new OpusDecoderStream(48000);
    const expected = packets.map((p) => truth.decode(p))[20]!;
    const dec = new OpusDecoderStream(48000);
    let last: Int16Array = new Int16Array(0);
    for (let i = 0; i < 20; i++) last = dec.decode(packets[i]!);
    const made = dec.conceal(); // packet 20 lost
    expect(made.length).toBe(960);
    expect(toneShare(made, 48000, 440, 20)).toBeGreaterThan(0.95);
    expect(rms(made)).toBeGreaterThan(0.7 * rms(last));
    // In phase with what the packet held (correlation), and joined without a step: the
    // second difference of a 440 Hz sine predicts the first made-up sample from the last two.
    let dot = 0;
    let a = 0;
    let b = 0;
    for (let i = 0; i < 960; i++) { dot += made[i]! * expected[i]!; a += made[i]! ** 2; b += expected[i]! ** 2; }
    expect(dot / Math.sqrt(a * b)).toBeGreaterThan(0.95);
    const w = 2 * Math.cos((2 * Math.PI * 440) / 48000);
    expect(Math.abs(made[0]! - w * last[959]! + last[958]!)).toBeLessThan(200); // full scale 32767, tone 16384
    // Another lost frame fades; the next packet decodes normally.
    expect(rms(dec.conceal())).toBeLessThan(rms(made));
    expect(dec.decode(packets[22]!).length).toBe(960);
  });

  it('conceals 20 ms at the decoder rate; before any packet it is silence; released, CLOSED', () => {
    const dec = new OpusDecoderStream(16000);
    expect(dec.conceal()).toEqual(new Int16Array(320));
    dec.decode(new OpusEncoderStream(48000).encode(new ToneGenerator(440, 48000).next(960)));
    expect(dec.conceal().length).toBe(320);
    dec.release();
    expect(() => dec.conceal()).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });

  it('the concealing TOC keeps mode, bandwidth and stereo, with one 20 ms frame (RFC 6716 §3.1)', () => {
    expect(opusConcealToc(0xf8)).toBe(0xf8); // config 31 CELT FB 20 ms, code 0
    expect(opusConcealToc(0xfb)).toBe(0xf8); // code 3 → code 0
    expect(opusConcealToc(0xe0)).toBe(0xf8); // config 28 CELT FB 2.5 ms → 31
    expect(opusConcealToc(0xfc)).toBe(0xfc); // stereo kept
    expect(opusConcealToc(0x70)).toBe(0x78); // config 14 hybrid FB 10 ms → 15
    expect(opusConcealToc(0x60)).toBe(0x68); // config 12 hybrid SWB 10 ms → 13
    expect(opusConcealToc(0x58)).toBe(0x48); // config 11 SILK WB 60 ms → 9
    expect(opusConcealToc(0x4f)).toBe(0x4c); // config 9 SILK WB 20 ms, stereo, code 3
    expect(opusConcealToc(0x00)).toBe(0x08); // config 0 SILK NB 10 ms → 1
  });
});

/** Error energy of `got` against `truth`, and the energy of `truth`, summed over frames. */
function errorEnergy(pairs: [Int16Array, Int16Array][]): { err: number; signal: number } {
  let err = 0;
  let signal = 0;
  for (const [got, truth] of pairs) for (let i = 0; i < truth.length; i++) { err += (got[i]! - truth[i]!) ** 2; signal += truth[i]! ** 2; }
  return { err, signal };
}

/**
 * A tone that glides 500 → 900 Hz and back over 2 s: PLC cannot just repeat the last period.
 * (Kept above ~400 Hz: SILK codes LBRR only for frames its voice activity detector finds
 * active, and a pure tone near 300 Hz often is not.)
 */
function glide(frames: number): Int16Array[] {
  let phase = 0;
  return Array.from({ length: frames }, (_, f) => {
    const out = new Int16Array(960);
    for (let i = 0; i < 960; i++) {
      const t = (f * 960 + i) / 48000;
      phase += (2 * Math.PI * (700 + 200 * Math.sin(Math.PI * t))) / 48000;
      out[i] = Math.round(12000 * Math.sin(phase));
    }
    return out;
  });
}

describe('Opus in-band FEC', () => {
  /**
   * Every 10th packet lost; each lost frame made up by a decoder that decoded everything before
   * it, then the next packet decoded: error energy over both frames against a lossless decode.
   */
  function lossRun(packets: Buffer[], make: (dec: OpusDecoderStream, next: Buffer) => Int16Array) {
    const truth = new OpusDecoderStream(48000);
    const expected = packets.map((p) => truth.decode(p));
    const dec = new OpusDecoderStream(48000);
    const pairs: [Int16Array, Int16Array][] = [];
    for (let i = 0; i < packets.length - 1; i++) {
      if (i % 10 !== 5) dec.decode(packets[i]!);
      else {
        pairs.push([make(dec, packets[i + 1]!), expected[i]!]);
        pairs.push([dec.decode(packets[++i]!), expected[i]!]);
      }
    }
    return errorEnergy(pairs);
  }

  it('with 10 % loss reported, a lost frame rebuilt from the next packet\'s FEC is far closer to it than PLC', () => {
    const enc = new OpusEncoderStream(48000); // the fast defaults: CELT, music, FEC on
    enc.reportLoss(0.1);
    enc.reportLoss(0.1);
    expect(enc.packetLossPercent).toBe(9); // estimate 7.5 %, raised to FEC_MIN_PERCENT
    const packets = glide(100).map((f) => enc.encode(f));
    expect(packets.slice(10).every((p) => p[0]! >> 3 < 16)).toBe(true); // SILK or hybrid: the layers with LBRR
    const fec = lossRun(packets, (dec, next) => dec.recover(next));
    const plc = lossRun(packets, (dec) => dec.conceal());
    const snr = (e: { err: number; signal: number }) => 10 * Math.log10(e.signal / e.err);
    // Measured over the lost frame alone: FEC 25-36 dB, PLC 1.5-8 dB.
    expect(snr(fec)).toBeGreaterThan(15);
    expect(snr(plc)).toBeLessThan(8);
    expect(fec.err * 10).toBeLessThan(plc.err);
  });

  it('without loss reported the encoder stays CELT, and recover() gives exactly what conceal() does', () => {
    const gen = new ToneGenerator(440, 48000);
    const enc = new OpusEncoderStream(48000);
    const packets = Array.from({ length: 12 }, () => enc.encode(gen.next(960)));
    expect(packets.every((p) => p[0]! >> 3 === 31)).toBe(true); // CELT FB 20 ms
    const a = new OpusDecoderStream(48000);
    const b = new OpusDecoderStream(48000);
    for (let i = 0; i < 10; i++) { a.decode(packets[i]!); b.decode(packets[i]!); }
    expect(a.recover(packets[11]!)).toEqual(b.conceal());
    expect(a.decode(packets[11]!)).toEqual(b.decode(packets[11]!));
  });

  it('with FEC off, reported loss sets the hint but the stream stays CELT with no LBRR', () => {
    const gen = new ToneGenerator(440, 48000);
    const enc = new OpusEncoderStream(48000, { fec: false });
    enc.reportLoss(0.2);
    expect(enc.packetLossPercent).toBe(10); // halfway up to 20 %
    expect(Array.from({ length: 12 }, () => enc.encode(gen.next(960))[0]! >> 3)).toEqual(new Array(12).fill(31));
  });

  it('recover() on a corrupt packet throws PARSE_ERROR; released, CLOSED', () => {
    const dec = new OpusDecoderStream(48000);
    dec.decode(new OpusEncoderStream(48000).encode(new ToneGenerator(440, 48000).next(960)));
    expect(() => dec.recover(Buffer.from([0xfb, 0x00]))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' })); // code 3, 0 frames
    dec.release();
    expect(() => dec.recover(Buffer.from([0xf8, 1, 2]))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    expect(() => dec.decode(Buffer.from([0xf8, 1, 2]))).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });
});
