/**
 * Measuring audio: the dominant frequency and level of a block of samples. Used by tests,
 * the bots' stats and the load tester to check that a tone arrived as sent.
 */

/** Root-mean-square level of Int16 samples, 0..1 of full scale. */
export function rms(samples: Int16Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]! / 32768;
    sum += s * s;
  }
  return Math.sqrt(sum / samples.length);
}

/** Goertzel power of one frequency bin (Hz) over the samples. */
export function goertzelPower(samples: Int16Array, sampleRate: number, frequency: number): number {
  const w = (2 * Math.PI * frequency) / sampleRate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < samples.length; i++) {
    const s0 = samples[i]! / 32768 + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/**
 * How much of the signal's energy is at `frequency`, 0..1 (a pure tone is about 1, silence 0),
 * summed over `blockMs` blocks rather than one window: a tone that went through a jitter cushion
 * may jump in phase where a frame was dropped or late, and over one long window those pieces
 * would cancel each other out.
 */
export function toneShare(samples: Int16Array, sampleRate: number, frequency: number, blockMs = 100): number {
  const block = Math.round((sampleRate * blockMs) / 1000);
  let tone = 0;
  let total = 0;
  for (let start = 0; start + block <= samples.length; start += block) {
    const piece = samples.subarray(start, start + block);
    tone += (2 * goertzelPower(piece, sampleRate, frequency)) / block;
    for (let i = 0; i < piece.length; i++) total += (piece[i]! / 32768) ** 2;
  }
  return total === 0 ? 0 : tone / total;
}

/**
 * The dominant frequency in Hz, to about 0.1 Hz (given ≥ 0.5 s of audio for ±1 Hz).
 * A Goertzel bin over N samples has a main lobe about 2·rate/N wide, so a coarse grid over the
 * whole signal would fall between lobes: the coarse scan runs on a 50 ms window (lobes ±20 Hz,
 * scanned in 5 Hz steps), then 1 Hz and 0.1 Hz scans on every sample refine it.
 */
export function dominantFrequency(samples: Int16Array, sampleRate: number, minHz = 50, maxHz = Math.min(4000, sampleRate / 2 - 1)): number {
  const coarse = samples.subarray(0, Math.min(samples.length, Math.round(sampleRate / 20)));
  let best = minHz;
  let bestPower = -1;
  for (let f = minHz; f <= maxHz; f += 5) {
    const p = goertzelPower(coarse, sampleRate, f);
    if (p > bestPower) { bestPower = p; best = f; }
  }
  for (const [step, span] of [[1, 25], [0.1, 1]] as const) {
    const center = best;
    bestPower = -1;
    for (let f = Math.max(minHz, center - span); f <= Math.min(maxHz, center + span); f += step) {
      const p = goertzelPower(samples, sampleRate, f);
      if (p > bestPower) { bestPower = p; best = f; }
    }
  }
  return Math.round(best * 10) / 10;
}
