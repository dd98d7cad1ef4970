// The playback side's jitter buffer: a ring of float samples that starts playing once it holds
// a cushion, plays what arrives back to back, fills underruns with silence (then rebuilds the
// cushion) and drops the oldest audio when it falls too far behind. The cushion grows after
// each underrun (a bursty network or a busy machine) and shrinks back during clean playback,
// so latency stays low where it can. Pure, so the browser test drives it sample by sample; the
// playback worklet runs it on the audio thread.

/** Samples over which playback fades in after a (re)start and out before an underrun: no click. */
const FADE = 64;

export class JitterBuffer {
  /**
   * @param {object} o
   * @param {number} o.sampleRate
   * @param {number} [o.startMs] the initial (and smallest) cushion held before playing
   * @param {number} [o.maxCushionMs] the cushion never grows past this
   * @param {number} [o.slackMs] more than cushion + slack buffered means we lag: trim to the cushion
   * @param {number} [o.stepMs] the cushion grows by this after an underrun, and shrinks by half of it
   * @param {number} [o.calmMs] ... after this long of playback without one
   */
  constructor({ sampleRate, startMs = 50, maxCushionMs = 200, slackMs = 100, stepMs = 20, calmMs = 10_000 }) {
    const ms = (v) => Math.round((sampleRate * v) / 1000);
    this.minCushion = ms(startMs);
    this.maxCushion = ms(maxCushionMs);
    this.cushion = this.minCushion;
    this.slack = ms(slackMs);
    this.step = ms(stepMs);
    this.calm = ms(calmMs);
    // Room for a burst well past the trim point: push never overwrites unread audio.
    this.ring = new Float32Array(2 * (this.maxCushion + this.slack) + sampleRate);
    this.read = 0;
    this.size = 0;
    this.playing = false;
    this.fadeIn = 0;
    this.sinceUnderrun = 0;
    /** The sender stopped on purpose (muted): running dry now is no underrun. */
    this.paused = false;
    /** Times playback ran dry while playing. */
    this.underruns = 0;
    /** Samples thrown away because playback lagged. */
    this.dropped = 0;
    /** Samples of real audio played. */
    this.played = 0;
  }

  get buffered() { return this.size; }

  /** Appends received audio; trims the oldest back to the cushion when too much has piled up. */
  push(samples) {
    let src = samples;
    const free = this.ring.length - this.size;
    if (src.length > free) src = src.subarray(src.length - free);
    const write = (this.read + this.size) % this.ring.length;
    const first = Math.min(src.length, this.ring.length - write);
    this.ring.set(src.subarray(0, first), write);
    this.ring.set(src.subarray(first), 0);
    this.size += src.length;
    this.dropped += samples.length - src.length;
    if (this.size > this.cushion + this.slack) this.skip(this.size - this.cushion);
  }

  /** Fills `out` with the next samples, or silence while (re)buffering. */
  pull(out) {
    if (!this.playing) {
      if (this.size < this.cushion) {
        out.fill(0);
        return;
      }
      this.playing = true;
      this.fadeIn = 0;
    }
    const n = Math.min(out.length, this.size);
    const ring = this.ring;
    let r = this.read;
    for (let i = 0; i < n; i++) {
      out[i] = ring[r];
      if (++r === ring.length) r = 0;
    }
    this.read = r;
    this.size -= n;
    this.played += n;
    for (let i = 0; this.fadeIn < FADE && i < n; i++, this.fadeIn++) out[i] *= this.fadeIn / FADE;
    if (n < out.length) {
      // Ran dry: fade what we had, conceal the rest with silence, rebuild a larger cushion
      // (unless the sender paused: then the cushion was fine).
      const fade = Math.min(FADE, n);
      for (let i = 0; i < fade; i++) out[n - 1 - i] *= i / fade;
      out.fill(0, n);
      this.playing = false;
      if (this.paused) return;
      this.underruns++;
      this.cushion = Math.min(this.maxCushion, this.cushion + this.step);
      this.sinceUnderrun = 0;
    } else if ((this.sinceUnderrun += n) >= this.calm) {
      this.cushion = Math.max(this.minCushion, this.cushion - (this.step >> 1));
      this.sinceUnderrun = 0;
    }
  }

  /** The sender stops (true) or sends again (false) on purpose: the gap is not an underrun. */
  pause(paused) {
    this.paused = paused;
  }

  /** Forgets buffered audio (a new partner); the counters and the learned cushion stay. */
  clear() {
    this.read = 0;
    this.size = 0;
    this.playing = false;
    this.paused = false;
  }

  skip(n) {
    this.read = (this.read + n) % this.ring.length;
    this.size -= n;
    this.dropped += n;
  }
}
