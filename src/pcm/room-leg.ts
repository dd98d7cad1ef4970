/**
 * A /ws/pcm client in a room, as the room's media sees it: an AudioLeg. Its frames (PCM at
 * its rate, or Opus) become 20 ms 48 kHz frames waiting in a bounded play queue that the
 * room's media takes from once per tick; the mix it hears goes back in its codec and rate
 * through its bounded egress. Both directions hold at most the queue limit (`--max-queue-ms`)
 * and drop the oldest past it, so latency stays bounded whatever the client or network does.
 * Codec state belongs to the leg and is freed by `close()`.
 */
import { FrameQueue } from '../media/frame-queue.js';
import { LEG_FRAME_SAMPLES, LEG_SAMPLE_RATE, type AudioLeg, type LegStats, type SharedConversion, type SharedFrame } from '../rooms/audio-leg.js';
import { bytesToInt16, int16Samples, int16ToBytes } from '../media/pcm.js';
import { VoiceGate } from '../media/voice-gate.js';
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

/**
 * Queued in place of a frame the voice gate kept out: it holds the frame's place in time
 * (so the queue's cushion and trimming see 20 ms go by) and take() hands the room nothing.
 */
const SILENT = new Int16Array(0);

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

  /**
   * PCM clients' audio passes a voice gate before it is resampled: what a listener sends (its
   * line's noise) costs no resampling, encoding or mixing. Opus clients have none (their
   * packets are decoded whatever they hold, and an Opus sender can use DTX).
   */
  private readonly gate: VoiceGate | undefined;
  /** The gated audio not yet counted in 48 kHz samples (times the client's rate): the count never drifts. */
  private gatedRemainder = 0;
  /** Whether the frame being filled holds anything that passed the gate. */
  private frameVoiced = false;

  constructor(private readonly params: Pick<PcmParams, 'codec' | 'rate'>, private readonly egress: Egress, options: { maxQueuedMs?: number; totals?: GatewayTotals } = {}) {
    this.totals = options.totals;
    if (params.codec === 'pcm') this.gate = new VoiceGate(params.rate);
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
    if (this.gate) {
      const samples = int16Samples(bytes);
      if (!this.gate.push(samples)) {
        this.gated(samples.length);
        return;
      }
    }
    if (this.inbound) this.inbound.push(bytes);
    else this.collect(bytes);
  }

  play(frame: Int16Array, shared?: SharedFrame): void {
    this.framesOut++;
    if (this.totals) this.totals.framesOut++;
    if (shared) {
      const conversion = shared.conversion(`${this.params.codec}/${this.params.rate}`, () => new SharedOutbound(this.params));
      for (const [out, ms] of conversion.convert(frame, shared.tick)) this.egress.push(out, ms);
    } else if (this.outbound) {
      this.outbound.push(int16ToBytes(frame));
    } else {
      this.egress.push(Buffer.from(int16ToBytes(frame)), 20); // a copy: the frame is reused and the egress may hold it
    }
  }

  take(): Int16Array | undefined {
    const frame = this.takeQueued();
    return frame === SILENT ? undefined : frame;
  }

  private takeQueued(): Int16Array | undefined {
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
      this.frameVoiced = true;
      if (this.fill === LEG_FRAME_SAMPLES) this.frameDone();
    }
  }

  /** `count` samples at the client's rate that the gate kept out: their time in 48 kHz silence. */
  private gated(count: number): void {
    const scaled = this.gatedRemainder + count * LEG_SAMPLE_RATE;
    let samples = Math.floor(scaled / this.params.rate);
    this.gatedRemainder = scaled - samples * this.params.rate;
    while (samples > 0) {
      const n = Math.min(samples, LEG_FRAME_SAMPLES - this.fill);
      // Zeros matter only in a frame that also holds voice; a silent one is never read.
      if (this.frameVoiced) this.frame.fill(0, this.fill, this.fill + n);
      this.fill += n;
      samples -= n;
      if (this.fill === LEG_FRAME_SAMPLES) this.frameDone();
    }
  }

  private frameDone(): void {
    this.said.push(this.frameVoiced ? this.frame.slice() : SILENT);
    this.fill = 0;
    this.frameVoiced = false;
  }
}

/** The room's shared mix in one client format: resampled or encoded once a tick for every leg of that format. */
class SharedOutbound implements SharedConversion {
  private tick = -1;
  private out: [Buffer, number][] = [];
  private readonly transcoder: Transcoder | undefined;

  constructor(params: Pick<PcmParams, 'codec' | 'rate'>) {
    this.transcoder = createTranscoder(LEG_FORMAT, params, (frame, ms) => this.out.push([frame, ms]));
  }

  /** The frame of tick `tick` in this format: what the transcoder made of it, made on the first call of the tick. */
  convert(frame: Int16Array, tick: number): readonly [Buffer, number][] {
    if (tick !== this.tick) {
      this.tick = tick;
      this.out = [];
      if (this.transcoder) this.transcoder.push(int16ToBytes(frame));
      else this.out.push([Buffer.from(int16ToBytes(frame)), 20]);
    }
    return this.out;
  }

  close(): void {
    this.transcoder?.close();
  }
}
