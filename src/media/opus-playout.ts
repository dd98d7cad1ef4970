/**
 * One source of Opus RTP as a mixer hears it: packets go into an RtpJitterBuffer as they
 * arrive (back in order; duplicates and late ones dropped), and each 20 ms tick takes one
 * frame, the slot's packet decoded or a frame made up where it is missing.
 *
 * Concealment: libopus's own PLC (OpusDecoderStream.conceal) for the first 2 frames of a gap;
 * the same, faded linearly to silence, over the next 3 (CELT's PLC alone turns to noise after
 * 5 frames instead of ending); then nothing. The first frame decoded after a gap that was
 * faded fades back in from where the fade had got to. So a lost packet is bridged by a
 * continuation of the signal, and a source that stops, stalls or comes back never steps in
 * level in the mix: no click.
 * In-band FEC is not used: @discordjs/opus cannot ask libopus for it (see opus.ts), so a `lost`
 * slot is concealed whether or not the next packet is already here.
 */
import { OpusDecoderStream, type OpusRate } from './opus.js';
import { RtpJitterBuffer, type JitterStats, type RtpJitterBufferOptions } from './rtp-jitter-buffer.js';

/** Frames of a gap concealed by libopus as it comes. */
const PLC_FRAMES = 2;
/** Frames after those, faded to silence. */
const FADE_FRAMES = 3;
/** Frames of a gap with any sound at all; the jitter buffer stops concealing underruns there too. */
const CONCEAL_FRAMES = PLC_FRAMES + FADE_FRAMES;

export type OpusPlayoutOptions = Omit<RtpJitterBufferOptions, 'maxUnderrunPulls'>;

export class OpusPlayout {
  private readonly buffer: RtpJitterBuffer;
  private readonly decoder: OpusDecoderStream;
  /** Frames made up in a row (0: the last frame was decoded). */
  private gap = 0;
  /** Gain at the end of the last frame given out, 0..1 (below 1 only during and after a fade). */
  private gain = 1;

  constructor(sampleRate: OpusRate, options: OpusPlayoutOptions = {}) {
    this.buffer = new RtpJitterBuffer({ ...options, maxUnderrunPulls: CONCEAL_FRAMES });
    this.decoder = new OpusDecoderStream(sampleRate);
  }

  /** The jitter buffer's counts (concealed: frames made up, including silent ones). */
  get stats(): Readonly<JitterStats> {
    return this.buffer.stats;
  }

  /** The cushion the buffer aims for now, ms. */
  get targetMs(): number {
    return this.buffer.target * 20;
  }

  /** One RTP packet's sequence number and Opus payload, as it arrives (the payload is copied). */
  push(seq: number, payload: Uint8Array): void {
    this.buffer.push(seq, new Uint8Array(payload)); // a copy: senders reuse their buffers
  }

  /**
   * The frame for this 20 ms tick (a new array), or undefined: nothing to mix (not playing, a
   * gap gone silent, or a packet that is not 20 ms).
   */
  take(): Int16Array | undefined {
    const slot = this.buffer.pull();
    if (slot.kind === 'idle') return undefined;
    if (slot.kind === 'packet') {
      let pcm: Int16Array;
      try {
        pcm = this.decoder.decode(slot.payload);
      } catch {
        return this.conceal(); // a packet that does not decode is a lost one
      }
      if (this.gain < 1) fade(pcm, this.gain, 1);
      this.gap = 0;
      this.gain = 1;
      return pcm.length === this.decoder.frameSamples ? pcm : undefined;
    }
    return this.conceal();
  }

  release(): void {
    this.decoder.release();
  }

  private conceal(): Int16Array | undefined {
    const k = this.gap++;
    if (k >= CONCEAL_FRAMES) return undefined;
    const pcm = this.decoder.conceal();
    if (k >= PLC_FRAMES) {
      const to = 1 - (k - PLC_FRAMES + 1) / FADE_FRAMES;
      fade(pcm, this.gain, to);
      this.gain = to;
    }
    return pcm;
  }
}

/** Scales the frame in place by a gain going linearly from `from` to `to`. */
function fade(pcm: Int16Array, from: number, to: number): void {
  const step = (to - from) / pcm.length;
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(pcm[i]! * (from + step * (i + 1)));
}
