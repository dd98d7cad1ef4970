import { describe, expect, it } from 'vitest';
import { VoiceGate } from '../../../src/media/voice-gate.js';

/** A sine chunk of peak `peak` (linear), `n` samples at 8 kHz. */
const sine = (peak: number, n = 160, hz = 300) => Int16Array.from({ length: n }, (_, i) => Math.round(peak * Math.sin((2 * Math.PI * hz * i) / 8000)));

describe('VoiceGate', () => {
  it('starts closed and stays closed on a quiet line (-60 dBFS)', () => {
    const gate = new VoiceGate(8000);
    expect(gate.open).toBe(false);
    for (let i = 0; i < 100; i++) expect(gate.push(sine(33))).toBe(false);
  });

  it('opens on the first chunk at the level (mean |x| >= 100) and not below it', () => {
    // A sine's mean absolute value is 2/pi of its peak: peak 157 is just at 100.
    expect(new VoiceGate(8000).push(sine(158))).toBe(true);
    expect(new VoiceGate(8000).push(sine(150))).toBe(false);
  });

  it('keeps 300 ms of quiet after the last loud chunk, passing the chunk that ends it, then closes', () => {
    const gate = new VoiceGate(8000);
    expect(gate.push(sine(3000))).toBe(true);
    const passed = Array.from({ length: 20 }, () => gate.push(sine(10)));
    // 15 chunks of 20 ms make the 300 ms; the 15th ends it and still passes.
    expect(passed.slice(0, 15).every(Boolean)).toBe(true);
    expect(passed.slice(15).some(Boolean)).toBe(false);
    expect(gate.open).toBe(false);
    // A loud chunk inside the hangover starts it again.
    expect(gate.push(sine(3000))).toBe(true);
    for (let i = 0; i < 10; i++) gate.push(sine(10));
    expect(gate.push(sine(3000))).toBe(true);
    expect(Array.from({ length: 15 }, () => gate.push(sine(10))).every(Boolean)).toBe(true);
  });

  it('counts the hangover in samples, whatever the chunk length; options set level and hangover', () => {
    const gate = new VoiceGate(16000, { openLevel: 1000, hangoverMs: 100 });
    expect(gate.push(sine(1200, 320))).toBe(false);
    expect(gate.push(sine(2000, 320))).toBe(true);
    // 100 ms at 16 kHz: 1600 samples in 7-sample chunks: 229 chunks (the 229th reaches it).
    let n = 0;
    while (gate.push(sine(5, 7))) n++;
    expect(n).toBe(229);
    expect(gate.push(new Int16Array(0))).toBe(false);
  });
});
