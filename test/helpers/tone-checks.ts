/**
 * Checks on a received tone that listeners would hear as defects: 20 ms of silence inside it
 * (a gap), and steps off the sine (a click). Used by the jitter buffer and gateway loss tests.
 */

/** Indexes of the `blockMs` blocks whose peak is under `floor` (0..1 of full scale). */
export function silentBlocks(samples: Int16Array, sampleRate: number, blockMs = 20, floor = 0.02): number[] {
  const block = Math.round((sampleRate * blockMs) / 1000);
  const out: number[] = [];
  for (let b = 0; (b + 1) * block <= samples.length; b++) {
    let peak = 0;
    for (let i = b * block; i < (b + 1) * block; i++) peak = Math.max(peak, Math.abs(samples[i]!));
    if (peak < floor * 32768) out.push(b);
  }
  return out;
}

/**
 * Indexes of the `blockMs` blocks where the signal leaves a sine of `frequency` by more than
 * `threshold` (0..1 of full scale) in one sample. A sine obeys x[n] = 2·cos(ω)·x[n-1] - x[n-2]
 * exactly, so the residual is near 0 for a clean tone (Opus-coded: under 0.002) and jumps where
 * the waveform steps: a gap's edges, a frame spliced out of phase without a cross-fade.
 */
export function clickBlocks(samples: Int16Array, sampleRate: number, frequency: number, blockMs = 20, threshold = 0.05): number[] {
  const block = Math.round((sampleRate * blockMs) / 1000);
  const c = 2 * Math.cos((2 * Math.PI * frequency) / sampleRate);
  const limit = threshold * 32768;
  const out: number[] = [];
  for (let b = 0; (b + 1) * block <= samples.length; b++) {
    for (let n = Math.max(2, b * block); n < (b + 1) * block; n++) {
      if (Math.abs(samples[n]! - c * samples[n - 1]! + samples[n - 2]!) > limit) {
        out.push(b);
        break;
      }
    }
  }
  return out;
}
