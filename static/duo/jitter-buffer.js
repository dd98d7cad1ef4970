// The playback side's jitter buffer: a ring of float samples that starts playing once it holds
// a cushion, plays what arrives back to back, fills underruns with silence (then rebuilds the
// cushion) and drops the oldest audio when it falls too far behind. The cushion grows after
// each underrun (a bursty network or a busy machine) and shrinks back during clean playback,
// so latency stays low where it can. Pure, so the browser test drives it sample by sample; the
// playback worklet runs it on the audio thread.
//
// The two ends' audio clocks never agree exactly (100 ppm apart is common, 1,000 happens): a
// faster sender piles audio up, a slower one drains it. So the buffer follows the sender's
// clock the way an adaptive resampler does: it measures the level it holds over the first
// seconds after a start, then plays slightly faster or slower to hold it (a PI loop slow
// enough that jitter and an output device's own hiccups average out, at most 0.3 % off: a
// 440 Hz tone moves by 1.3 Hz at most, far below what an ear notices), reading between
// samples with a 4-point cubic. Dropping or repeating samples instead is audible as a click
// train. What the loop learns (the clocks' ratio) outlives underruns and trims; a new partner
// starts it afresh.

/** Samples over which playback fades in after a (re)start and out before an underrun: no click. */
const FADE = 64;
/** The playback rate follows the sender's clock within 1 +- this. */
const MAX_RATE_OFFSET = 0.003;
/** The level the loop sees is averaged over about this long, s. */
const LEVEL_AVERAGE_S = 2;
/** After a (re)start, the mean level over this long is the one held, s. */
const SETTLE_S = 4;
/**
 * The loop's time scale, s (natural frequency 1/this rad/s, damping 0.7): well past the few
 * seconds over which a network's or a device's bursts come and go, well short of the minutes
 * over which drift adds up. Gains per second of audio the level is off.
 */
const LOOP_S = 12;
const KP = (2 * 0.7) / LOOP_S;
const KI = 1 / (LOOP_S * LOOP_S);
const clamp = (v) => Math.max(-MAX_RATE_OFFSET, Math.min(MAX_RATE_OFFSET, v));

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
    // Clock following: the playback rate (ring samples per output sample), the read position
    // between ring[read] and the next one, the sample before ring[read] (the cubic's first
    // point), the averaged level, the level held (undefined while settling, when `settled`
    // sums the level over `sinceStart` samples), and the loop's integral: the clocks' ratio.
    this.sampleRate = sampleRate;
    this.levelWindow = sampleRate * LEVEL_AVERAGE_S;
    this.settle = sampleRate * SETTLE_S;
    this.rate = 1;
    this.frac = 0;
    this.prev = 0;
    this.level = 0;
    this.target = undefined;
    this.settled = 0;
    this.sinceStart = 0;
    this.drift = 0;
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
    if (this.size > this.cushion + this.slack) {
      this.skip(this.size - this.cushion);
      this.follow();
    }
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
      this.prev = this.ring[this.read];
      this.follow();
    }
    const level = this.size;
    // At the nominal rate on a sample boundary (the first seconds of each start) samples are
    // copied as they came.
    const n = this.rate === 1 && this.frac === 0 ? this.copy(out) : this.resample(out);
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
    } else {
      this.adjustRate(level, n);
      if ((this.sinceUnderrun += n) >= this.calm) {
        this.cushion = Math.max(this.minCushion, this.cushion - (this.step >> 1));
        this.sinceUnderrun = 0;
      }
    }
  }

  /** Copies the next `out.length` samples (fewer if the ring runs dry); returns how many. */
  copy(out) {
    const n = Math.min(out.length, this.size);
    const ring = this.ring;
    let r = this.read;
    for (let i = 0; i < n; i++) {
      out[i] = ring[r];
      if (++r === ring.length) r = 0;
    }
    if (n > 0) this.prev = out[n - 1];
    this.read = r;
    this.size -= n;
    return n;
  }

  /**
   * Fills `out` reading the ring at `rate` samples per output sample, interpolated (4-point,
   * 3rd-order Hermite); returns how many it filled before the ring ran dry.
   */
  resample(out) {
    const ring = this.ring;
    const len = ring.length;
    const rate = this.rate;
    let r = this.read;
    let size = this.size;
    let frac = this.frac;
    let xm1 = this.prev;
    let i = 0;
    for (; i < out.length && size > 0; i++) {
      const x0 = ring[r];
      // Past the end of what arrived, the last sample stands in (only at an underrun's edge,
      // which fades out anyway).
      const x1 = size > 1 ? ring[r + 1 < len ? r + 1 : r + 1 - len] : x0;
      const x2 = size > 2 ? ring[r + 2 < len ? r + 2 : r + 2 - len] : x1;
      const c1 = 0.5 * (x1 - xm1);
      const c2 = xm1 - 2.5 * x0 + 2 * x1 - 0.5 * x2;
      const c3 = 0.5 * (x2 - xm1) + 1.5 * (x0 - x1);
      out[i] = ((c3 * frac + c2) * frac + c1) * frac + x0;
      frac += rate;
      while (frac >= 1 && size > 0) {
        frac -= 1;
        xm1 = ring[r];
        if (++r === len) r = 0;
        size--;
      }
    }
    this.read = r;
    this.size = size;
    this.frac = frac;
    this.prev = xm1;
    return i;
  }

  /** Measures the level to hold afresh, at the rate learned so far: after a (re)start or a trim. */
  follow() {
    this.rate = 1 + this.drift;
    this.level = this.size;
    this.target = undefined;
    this.settled = 0;
    this.sinceStart = 0;
  }

  /**
   * Moves the playback rate toward holding the level measured after the start: the averaged
   * level's offset from it (in seconds of audio) times KP, plus its integral times KI, which
   * settles at the clocks' ratio (1.001 for a sender 1,000 ppm fast) with the level back on
   * the one held.
   */
  adjustRate(level, n) {
    this.level += ((level - this.level) * n) / this.levelWindow;
    if (this.target === undefined) {
      this.settled += level * n;
      if ((this.sinceStart += n) >= this.settle) this.target = this.settled / this.sinceStart;
      return;
    }
    const offset = (this.level - this.target) / this.sampleRate;
    this.drift = clamp(this.drift + (KI * offset * n) / this.sampleRate);
    this.rate = 1 + clamp(KP * offset + this.drift);
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
    this.drift = 0;
    this.frac = 0;
    this.follow();
  }

  skip(n) {
    this.read = (this.read + n) % this.ring.length;
    this.size -= n;
    this.dropped += n;
  }
}
