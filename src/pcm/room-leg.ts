/**
 * A /ws/pcm client in a room, as the room's media sees it: an AudioLeg. Its frames (PCM at
 * its rate, or Opus) become 20 ms 48 kHz frames for the room; the mix it hears goes back in
 * its codec and rate through its bounded egress (the oldest audio dropped past the queue
 * limit). Codec state belongs to the leg and is freed by `close()`.
 */
import { LEG_FRAME_SAMPLES, LEG_SAMPLE_RATE, type AudioLeg, type LegStats } from '../rooms/audio-leg.js';
import { bytesToInt16, int16ToBytes } from '../media/pcm.js';
import type { PcmParams } from '../protocol/pcm.js';
import type { Egress } from './egress.js';
import { createTranscoder, type Transcoder } from './transcoder.js';

const LEG_FORMAT = { codec: 'pcm', rate: LEG_SAMPLE_RATE } as const;

/** Server-wide running totals over every leg (the metrics read them). */
export interface GatewayTotals { framesIn: number; framesOut: number; underruns: number }

export class PcmRoomLeg implements AudioLeg {
  onAudio: ((frame: Int16Array) => void) | undefined;
  /** Client format → 48 kHz PCM (undefined: the client sends 48 kHz PCM already). */
  private readonly inbound: Transcoder | undefined;
  /** 48 kHz PCM → client format (undefined: the client takes 48 kHz PCM). */
  private readonly outbound: Transcoder | undefined;
  /** The 20 ms frame being filled from the client's audio, whatever its frame lengths. */
  private readonly frame = new Int16Array(LEG_FRAME_SAMPLES);
  private fill = 0;
  private framesIn = 0;
  private framesOut = 0;
  private underruns = 0;

  constructor(params: Pick<PcmParams, 'codec' | 'rate'>, private readonly egress: Egress, private readonly totals?: GatewayTotals) {
    this.inbound = createTranscoder(params, LEG_FORMAT, (pcm) => this.collect(pcm));
    this.outbound = createTranscoder(LEG_FORMAT, params, (out, ms) => this.egress.push(out, ms));
  }

  /** One binary frame from the client (checked and admitted by the service). Throws INVALID_MESSAGE on a bad Opus packet. */
  push(bytes: Buffer): void {
    this.framesIn++;
    if (this.totals) this.totals.framesIn++;
    if (this.inbound) this.inbound.push(bytes);
    else this.collect(bytes);
  }

  play(frame: Int16Array): void {
    this.framesOut++;
    if (this.totals) this.totals.framesOut++;
    if (this.outbound) this.outbound.push(int16ToBytes(frame));
    else this.egress.push(Buffer.from(int16ToBytes(frame)), 20); // a copy: the frame is reused and the egress may hold it
  }

  underrun(): void {
    this.underruns++;
    if (this.totals) this.totals.underruns++;
  }

  stats(): LegStats {
    return { framesIn: this.framesIn, framesOut: this.framesOut, queueMs: this.egress.queuedAudioMs, droppedMs: this.egress.droppedMs, underruns: this.underruns };
  }

  close(): void {
    this.onAudio = undefined;
    this.inbound?.close();
    this.outbound?.close();
  }

  /** 48 kHz PCM bytes, any length: cut into 20 ms frames for the room. */
  private collect(pcm: Buffer): void {
    const samples = bytesToInt16(pcm);
    let read = 0;
    while (read < samples.length) {
      const n = Math.min(samples.length - read, LEG_FRAME_SAMPLES - this.fill);
      this.frame.set(samples.subarray(read, read + n), this.fill);
      this.fill += n;
      read += n;
      if (this.fill === LEG_FRAME_SAMPLES) {
        this.fill = 0;
        this.onAudio?.(this.frame);
      }
    }
  }
}
