/**
 * A /ws/pcm client in a room, as the room's media sees it: an AudioLeg. Its frames (PCM at
 * its rate, or Opus) become 20 ms 48 kHz frames waiting in a bounded play queue that the
 * room's media takes from once per tick; the mix it hears goes back in its codec and rate
 * through its bounded egress. Both directions hold at most the queue limit (`--max-queue-ms`)
 * and drop the oldest past it, so latency stays bounded whatever the client or network does.
 * Codec state belongs to the leg and is freed by `close()`.
 */
import { FrameQueue } from '../media/frame-queue.js';
import { LEG_FRAME_SAMPLES, LEG_SAMPLE_RATE, type AudioLeg, type LegStats } from '../rooms/audio-leg.js';
import { bytesToInt16, int16ToBytes } from '../media/pcm.js';
import type { PcmParams } from '../protocol/pcm.js';
import type { Egress } from './egress.js';
import { createTranscoder, type Transcoder } from './transcoder.js';

const LEG_FORMAT = { codec: 'pcm', rate: LEG_SAMPLE_RATE } as const;

/** Server-wide running totals over every leg (the metrics read them). */
export interface GatewayTotals { framesIn: number; framesOut: number; underruns: number }

/** Frames the play queue holds before the room takes from it: one tick of network jitter absorbed. */
const PREBUFFER_FRAMES = 2;
/**
 * A backlog (more than the cushion still waiting after a take) left by a burst or a stall
 * would otherwise stay for the whole call: the client and the room both run at real time, so
 * nothing drains it but the --max-queue-ms limit. After it has lasted this many ticks (100 ms,
 * longer than a jitter spike), each quiet frame taken is skipped (20 ms less delay a tick)...
 */
const TRIM_QUIET_AFTER_TICKS = 5;
/** ...and past this many (1 s of unbroken speech), one frame whatever it holds, then again a second later. */
const TRIM_ANY_AFTER_TICKS = 50;
/** A frame whose samples all stay under this (-30 dBFS) is quiet: skipping it is not heard. */
const QUIET_PEAK = 1024;

function isQuiet(frame: Int16Array): boolean {
  for (let i = 0; i < frame.length; i++) if (frame[i]! >= QUIET_PEAK || frame[i]! <= -QUIET_PEAK) return false;
  return true;
}

export class PcmRoomLeg implements AudioLeg {
  /** Client format → 48 kHz PCM (undefined: the client sends 48 kHz PCM already). */
  private readonly inbound: Transcoder | undefined;
  /** 48 kHz PCM → client format (undefined: the client takes 48 kHz PCM). */
  private readonly outbound: Transcoder | undefined;
  /** The 20 ms frame being filled from the client's audio, whatever its frame lengths. */
  private readonly frame = new Int16Array(LEG_FRAME_SAMPLES);
  private fill = 0;
  private readonly totals: GatewayTotals | undefined;
  private framesIn = 0;
  private framesOut = 0;
  private underruns = 0;
  /** Ticks the current backlog has lasted, and frames skipped to drain backlogs. */
  private backlogTicks = 0;
  private trimmed = 0;
  /** What the client said, 20 ms frames waiting for the room's tick. */
  private readonly said: FrameQueue;

  constructor(params: Pick<PcmParams, 'codec' | 'rate'>, private readonly egress: Egress, options: { maxQueuedMs?: number; totals?: GatewayTotals } = {}) {
    this.totals = options.totals;
    this.said = new FrameQueue({
      prebuffer: PREBUFFER_FRAMES,
      max: Math.max(PREBUFFER_FRAMES, Math.floor((options.maxQueuedMs ?? 200) / 20)),
      onUnderrun: () => this.underrun(),
    });
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

  take(): Int16Array | undefined {
    const frame = this.said.take();
    if (!frame || this.said.length <= PREBUFFER_FRAMES) {
      this.backlogTicks = 0;
      return frame;
    }
    this.backlogTicks++;
    if (this.backlogTicks < TRIM_ANY_AFTER_TICKS && (this.backlogTicks < TRIM_QUIET_AFTER_TICKS || !isQuiet(frame))) return frame;
    // Skipped: the next one plays now. A speech frame resets the count (at most one a second).
    if (this.backlogTicks >= TRIM_ANY_AFTER_TICKS) this.backlogTicks = 0;
    this.trimmed++;
    return this.said.take();
  }

  stats(): LegStats {
    return {
      framesIn: this.framesIn, framesOut: this.framesOut,
      queueMs: this.egress.queuedAudioMs + this.said.length * 20,
      droppedMs: this.egress.droppedMs + (this.said.dropped + this.trimmed) * 20,
      underruns: this.underruns,
    };
  }

  close(): void {
    this.said.clear();
    this.inbound?.close();
    this.outbound?.close();
  }

  private underrun(): void {
    this.underruns++;
    if (this.totals) this.totals.underruns++;
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
        this.said.push(this.frame.slice());
      }
    }
  }
}
