import { describe, expect, it } from 'vitest';
import { Resampler, resampleAll } from '../../../src/media/resample.js';
import { ToneGenerator } from '../../../src/media/tone.js';
import { dominantFrequency, rms } from '../../../src/media/analysis.js';

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** One second of a tone at `from`, resampled in 20 ms frames. */
function streamTone(freq: number, from: number, to: number, seconds = 1): { out: Int16Array; frameLengths: number[] } {
  const gen = new ToneGenerator(freq, from);
  const r = new Resampler(from, to);
  const parts: Int16Array[] = [];
  for (let i = 0; i < seconds * 50; i++) parts.push(r.process(gen.next(from / 50)));
  return { out: concat(parts), frameLengths: parts.map((p) => p.length) };
}

describe('Resampler', () => {
  const cases: Array<[number, number, number]> = [
    [48000, 16000, 1000], [16000, 48000, 1000], [48000, 8000, 440], [8000, 48000, 440],
    [44100, 48000, 440], [48000, 44100, 2000], [12000, 24000, 440], [24000, 12000, 3000], [22050, 16000, 700],
  ];
  it.each(cases)('%i -> %i Hz keeps a %i Hz tone within ±1 Hz and its level', (from, to, freq) => {
    const { out, frameLengths } = streamTone(freq, from, to);
    const steady = out.subarray(to / 20); // skip the filter's start-up
    expect(Math.abs(dominantFrequency(steady, to) - freq)).toBeLessThanOrEqual(1);
    expect(rms(steady)).toBeGreaterThan(0.34); // 0.5 amplitude sine: 0.3536
    expect(rms(steady)).toBeLessThan(0.36);
    // every 20 ms frame in yields exactly a 20 ms frame out
    expect(new Set(frameLengths.slice(1))).toEqual(new Set([to / 50]));
  });

  it('gives the same samples whether fed in 20 ms frames, odd chunks or all at once (no frame-edge clicks)', () => {
    const input = new ToneGenerator(440, 44100).next(44100);
    const whole = new Resampler(44100, 16000).process(input);
    const r = new Resampler(44100, 16000);
    const parts: Int16Array[] = [];
    for (let i = 0; i < input.length; i += 337) parts.push(r.process(input.subarray(i, i + 337)));
    expect(concat(parts)).toEqual(whole);
    // a 440 Hz sine at 0.5 amplitude moves at most 2π·440/16000·16384 ≈ 2831 per sample
    let maxStep = 0;
    for (let i = 200; i < whole.length; i++) maxStep = Math.max(maxStep, Math.abs(whole[i]! - whole[i - 1]!));
    expect(maxStep).toBeLessThan(2900);
  });

  it('attenuates a tone above the new Nyquist frequency when downsampling', () => {
    const { out } = streamTone(6000, 48000, 8000); // would alias to 2000 Hz
    expect(rms(out.subarray(400))).toBeLessThan(0.005);
  });

  it('passes samples through unchanged at equal rates', () => {
    const input = Int16Array.of(1, -2, 3);
    expect(new Resampler(16000, 16000).process(input)).toEqual(input);
  });

  it('refuses a non-integer rate', () => {
    expect(() => new Resampler(44100.5, 48000)).toThrow(TypeError);
  });
});

describe('resampleAll', () => {
  it('converts a whole signal with the delay compensated', () => {
    const input = new ToneGenerator(440, 44100).next(44100);
    const out = resampleAll(input, 44100, 48000);
    expect(out.length).toBe(48000);
    expect(Math.abs(dominantFrequency(out, 48000) - 440)).toBeLessThanOrEqual(1);
    // aligned to within half a sample: at most 0.5·16384·2π·440/48000 ≈ 472 off the ideal sine
    // (a filter delay left uncompensated, 10 samples here, would be ~9000 off)
    let maxError = 0;
    for (let k = 1000; k < 47000; k++) {
      maxError = Math.max(maxError, Math.abs(out[k]! - 0.5 * 32767 * Math.sin((2 * Math.PI * 440 * k) / 48000)));
    }
    expect(maxError).toBeLessThan(480);
  });
});
