import { describe, expect, it } from 'vitest';
import { OPUS_RATES, OpusDecoderStream, OpusEncoderStream } from '../../../src/media/opus.js';
import { ToneGenerator } from '../../../src/media/tone.js';
import { dominantFrequency, rms } from '../../../src/media/analysis.js';

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
