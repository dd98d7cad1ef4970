/**
 * An Opus decoder for a stream with holes, as a player or a mixer hears it: each 20 ms slot
 * is a packet to decode, or a lost one to make up. One policy for every decoder that meets
 * loss (the jitter-buffered playout of RTP, the recorder's mix of its files):
 *
 * - a lost packet whose successor is here: rebuilt from the successor's in-band FEC (LBRR),
 *   which senders code once they hear of loss (loss-hint.ts); libopus conceals instead when
 *   the successor carries none;
 * - otherwise libopus's own PLC (OpusDecoderStream.conceal) for the first 2 frames of a gap;
 *   the same, faded linearly to silence, over the next 3 (CELT's PLC alone turns to noise
 *   after 5 frames instead of ending); then nothing;
 * - the first frame decoded (or rebuilt) after a gap that was faded fades back in from where
 *   the fade had got to.
 * So a lost packet is bridged by the sender's own coarse copy of it, or by a continuation of
 * the signal, and a source that stops, stalls or comes back never steps in level: no click.
 */
import { OpusDecoderStream, type OpusRate } from './opus.js';
import { opusMayCarryFec } from './opus-packet.js';

/** Frames of a gap concealed by libopus as it comes. */
const PLC_FRAMES = 2;
/** Frames after those, faded to silence. */
const FADE_FRAMES = 3;
/** Frames of a gap with any sound at all. */
export const CONCEAL_FRAMES = PLC_FRAMES + FADE_FRAMES;

/** Frames made up since the decoder was made. */
export interface LossCounts {
  /** Decoded from the next packet's in-band FEC (a SILK or hybrid packet; libopus conceals if it has no LBRR for the frame). */
  fecFrames: number;
  /** Concealed by PLC (faded ones included, silent ones not). */
  plcFrames: number;
}

export class OpusLossDecoder {
  readonly counts: LossCounts = { fecFrames: 0, plcFrames: 0 };
  private readonly decoder: OpusDecoderStream;
  /** Frames made up in a row (0: the last frame was decoded). */
  private gap = 0;
  /** Gain at the end of the last frame given out, 0..1 (below 1 only during and after a fade). */
  private gain = 1;

  constructor(sampleRate: OpusRate) {
    this.decoder = new OpusDecoderStream(sampleRate);
  }

  /** Samples in one 20 ms frame. */
  get frameSamples(): number {
    return this.decoder.frameSamples;
  }

  /**
   * A packet's samples (a new array). One that does not decode is taken as lost: its slot is
   * concealed (then undefined once the gap has gone silent).
   */
  decode(packet: Uint8Array): Int16Array | undefined {
    let pcm: Int16Array;
    try {
      pcm = this.decoder.decode(packet);
    } catch {
      return this.lost();
    }
    return this.heard(pcm);
  }

  /**
   * The frame of a lost 20 ms packet (a new array), from `next`'s FEC when the packet after it
   * is given, else concealed; undefined once the gap has gone silent. Decode `next` after.
   */
  lost(next?: Uint8Array): Int16Array | undefined {
    if (next && opusMayCarryFec(next)) {
      try {
        const pcm = this.decoder.recover(next);
        this.counts.fecFrames++;
        return this.heard(pcm);
      } catch {
        // a corrupt successor: conceal
      }
    }
    const k = this.gap++;
    if (k >= CONCEAL_FRAMES) return undefined;
    this.counts.plcFrames++;
    const pcm = this.decoder.conceal();
    if (k >= PLC_FRAMES) {
      const to = 1 - (k - PLC_FRAMES + 1) / FADE_FRAMES;
      fade(pcm, this.gain, to);
      this.gain = to;
    }
    return pcm;
  }

  release(): void {
    this.decoder.release();
  }

  /** Real audio again: fades in after a faded gap. */
  private heard(pcm: Int16Array): Int16Array {
    if (this.gain < 1) fade(pcm, this.gain, 1);
    this.gap = 0;
    this.gain = 1;
    return pcm;
  }
}

/** Scales the frame in place by a gain going linearly from `from` to `to`. */
function fade(pcm: Int16Array, from: number, to: number): void {
  const step = (to - from) / pcm.length;
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(pcm[i]! * (from + step * (i + 1)));
}
