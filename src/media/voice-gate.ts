/**
 * Whether a stream of audio carries a voice or only the line's noise, chunk by chunk, as a
 * conference mixer needs to know (FreeSWITCH's `energy-level`, Asterisk's talk detection): a
 * chunk whose mean absolute level reaches `openLevel` opens the gate, and it closes only after
 * `hangoverMs` of chunks under it, so word tails and the pauses inside a sentence stay in. The
 * gateway mixes, resamples and encodes only what passes, so a room pays for its talkers, not
 * for every listener's silence. Pure; any sample rate, any chunk length.
 */

export interface VoiceGateOptions {
  /**
   * Mean absolute sample value that opens the gate. Default 100: about -48 dBFS for noise,
   * a sine of peak -46 dBFS. Speech sits 15-30 dB above; a quiet phone line's noise
   * (-60 dBFS and below) stays out.
   */
  openLevel?: number;
  /** Audio under the level that keeps the gate open after the last loud chunk, ms. Default 300. */
  hangoverMs?: number;
}

export class VoiceGate {
  private readonly openSum: number;
  private readonly hangoverSamples: number;
  /** Samples since the last chunk at or above the level; starts closed. */
  private quietSamples: number;

  constructor(rate: number, options: VoiceGateOptions = {}) {
    this.openSum = options.openLevel ?? 100;
    this.hangoverSamples = Math.round(((options.hangoverMs ?? 300) * rate) / 1000);
    this.quietSamples = this.hangoverSamples;
  }

  /** Whether voice is passing now: after the last loud chunk, until the hangover has run out. */
  get open(): boolean {
    return this.quietSamples < this.hangoverSamples;
  }

  /** Takes one chunk; returns whether it passes (loud, or within the hangover of a loud one). */
  push(samples: Int16Array): boolean {
    if (samples.length === 0) return this.open;
    const wasOpen = this.open;
    let sum = 0;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      sum += s < 0 ? -s : s;
    }
    if (sum >= this.openSum * samples.length) {
      this.quietSamples = 0;
      return true;
    }
    this.quietSamples = Math.min(this.hangoverSamples, this.quietSamples + samples.length);
    // The chunk that ends the hangover still passes: the voice fades out rather than being cut.
    return wasOpen;
  }
}
