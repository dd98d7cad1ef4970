/**
 * One source of Opus RTP as a mixer hears it: packets go into an RtpJitterBuffer as they
 * arrive (back in order; duplicates and late ones dropped), and each 20 ms tick takes one
 * frame, the slot's packet decoded or a frame made up where it is missing (OpusLossDecoder:
 * the next packet's in-band FEC when it is already here, else PLC fading to silence).
 */
import { CONCEAL_FRAMES, OpusLossDecoder, type LossCounts } from './opus-loss-decoder.js';
import type { OpusRate } from './opus.js';
import { RtpJitterBuffer, type JitterStats, type RtpJitterBufferOptions } from './rtp-jitter-buffer.js';

export type OpusPlayoutOptions = Omit<RtpJitterBufferOptions, 'maxUnderrunPulls'>;

export class OpusPlayout {
  private readonly buffer: RtpJitterBuffer;
  private readonly decoder: OpusLossDecoder;

  constructor(sampleRate: OpusRate, options: OpusPlayoutOptions = {}) {
    this.buffer = new RtpJitterBuffer({ ...options, maxUnderrunPulls: CONCEAL_FRAMES });
    // The buffer stops answering underruns where the decoder's concealment has gone silent.
    this.decoder = new OpusLossDecoder(sampleRate);
  }

  /**
   * The jitter buffer's counts (concealed: frames made up, including silent ones) and how the
   * lost ones were made up (fecFrames, plcFrames).
   */
  get stats(): Readonly<JitterStats & LossCounts> {
    return { ...this.buffer.stats, ...this.decoder.counts };
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
      const pcm = this.decoder.decode(slot.payload);
      return pcm?.length === this.decoder.frameSamples ? pcm : undefined;
    }
    return this.decoder.lost(slot.kind === 'lost' ? slot.next : undefined);
  }

  release(): void {
    this.decoder.release();
  }
}
