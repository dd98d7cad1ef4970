/** A sine tone generator that keeps phase across frames (no clicks at frame edges). */
export class ToneGenerator {
  private phase = 0;

  /**
   * @param frequency Hz
   * @param sampleRate samples per second
   * @param amplitude 0..1 of full scale (default 0.5, about -6 dBFS)
   */
  constructor(readonly frequency: number, readonly sampleRate: number, readonly amplitude = 0.5) {
    if (!(frequency > 0 && frequency < sampleRate / 2)) throw new TypeError(`tone frequency must be between 0 and ${sampleRate / 2} Hz`);
  }

  /** Fills `out` (or a new buffer of `samples`) with the next samples as Int16. */
  next(samples: number, out: Int16Array = new Int16Array(samples)): Int16Array {
    const step = (2 * Math.PI * this.frequency) / this.sampleRate;
    const scale = this.amplitude * 32767;
    for (let i = 0; i < samples; i++) {
      out[i] = Math.round(Math.sin(this.phase) * scale);
      this.phase += step;
    }
    this.phase %= 2 * Math.PI;
    return out;
  }
}
