import { describe, expect, it } from 'vitest';
import { ToneGenerator } from '../../../src/media/tone.js';
import { dominantFrequency, rms, toneShare } from '../../../src/media/analysis.js';

describe('tone and analysis', () => {
  it('measures a generated 440 Hz tone to within 1 Hz', () => {
    const gen = new ToneGenerator(440, 48000, 0.5);
    const samples = new Int16Array(48000);
    // generate in 20 ms frames to prove phase continuity across frames
    for (let i = 0; i < 50; i++) samples.set(gen.next(960), i * 960);
    expect(Math.abs(dominantFrequency(samples, 48000) - 440)).toBeLessThanOrEqual(1);
    expect(rms(samples)).toBeGreaterThan(0.34);
    expect(rms(samples)).toBeLessThan(0.36);
  });

  it('tells two tones apart at 16 kHz', () => {
    const samples = new ToneGenerator(1000, 16000).next(16000);
    expect(Math.abs(dominantFrequency(samples, 16000) - 1000)).toBeLessThanOrEqual(1);
  });

  it('refuses a frequency above Nyquist', () => {
    expect(() => new ToneGenerator(9000, 16000)).toThrow(TypeError);
  });

  it('reports silence as level 0', () => {
    expect(rms(new Int16Array(960))).toBe(0);
  });
});

describe('dominantFrequency off the coarse grid', () => {
  it.each([523, 261.6, 1003.3, 3333])('finds %d Hz in exactly 1 s of audio (±0.5 Hz)', (hz) => {
    const samples = new ToneGenerator(hz, 48000).next(48000);
    expect(Math.abs(dominantFrequency(samples, 48000) - hz)).toBeLessThanOrEqual(0.5);
  });

  it('finds a tone in a short window too', () => {
    const samples = new ToneGenerator(777, 16000).next(4000); // 250 ms
    expect(Math.abs(dominantFrequency(samples, 16000) - 777)).toBeLessThanOrEqual(2);
  });
});

describe('toneShare', () => {
  it('is about 1 for a pure tone, 0 for silence and for another tone, about a half for two equal tones', () => {
    const a = new ToneGenerator(440, 16000).next(16000);
    const b = new ToneGenerator(880, 16000).next(16000);
    expect(toneShare(a, 16000, 440)).toBeGreaterThan(0.95);
    expect(toneShare(a, 16000, 880)).toBeLessThan(0.01);
    expect(toneShare(new Int16Array(16000), 16000, 440)).toBe(0);
    const mix = a.map((x, i) => (x + b[i]!) >> 1);
    expect(toneShare(mix, 16000, 440)).toBeGreaterThan(0.45);
    expect(toneShare(mix, 16000, 440)).toBeLessThan(0.55);
  });

  it('survives phase jumps between blocks (a tone spliced from pieces out of phase)', () => {
    const gen = new ToneGenerator(440, 16000);
    const spliced = new Int16Array(16000);
    // 100 ms pieces, each shifted half a period: one long Goertzel window would see them cancel out.
    for (let k = 0; k < 10; k++) { spliced.set(gen.next(1600), k * 1600); gen.next(18); }
    expect(toneShare(spliced, 16000, 440)).toBeGreaterThan(0.9);
  });
});
