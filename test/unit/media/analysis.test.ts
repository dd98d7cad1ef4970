import { describe, expect, it } from 'vitest';
import { ToneGenerator } from '../../../src/media/tone.js';
import { dominantFrequency, rms } from '../../../src/media/analysis.js';

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
