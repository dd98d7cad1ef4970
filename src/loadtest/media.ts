/**
 * The media every simulated peer of one process shares: one audio source encoded once per
 * 20 ms whatever the number of peers, and one pacer driving every sender. Each packet carries
 * its send time in its Opus padding (media/opus-stamp.ts), so any receiver on this machine,
 * in this process or another, behind a server that renumbers packets or not, times it.
 */
import { openAudioFile } from '../client/audio-files.js';
import { OpusEncoderStream } from '../media/opus.js';
import { ToneSource, type OpusSource } from '../media/opus-sources.js';
import type { OpusSender } from '../rtc/opus-sender.js';
import { Pacer } from '../time/pacer.js';
import { stampOpusPacket } from '../media/opus-stamp.js';
import type { LoadAudio } from './params.js';

/** 20 ms is split in this many slots and senders are spread over them, as independent clients would be. */
const SLOTS = 4;

/** Encoded digital silence, the same small packet every frame (not DTX: packets still flow). */
class SilenceSource implements OpusSource {
  private readonly packet: Buffer;
  constructor() {
    const enc = new OpusEncoderStream(48000);
    this.packet = enc.encode(new Int16Array(960));
    enc.release();
  }
  nextFrame(): Buffer {
    return this.packet;
  }
}

export async function openLoadAudio(kind: LoadAudio, file?: string): Promise<OpusSource> {
  if (kind === 'silence') return new SilenceSource();
  if (kind === 'file') return openAudioFile(file!, { loop: true });
  return new ToneSource(440);
}

/** One source, one pacer, every sender of the process. */
export class SharedAudio {
  private readonly slots: Set<OpusSender>[] = Array.from({ length: SLOTS }, () => new Set());
  /** Last frame index each slot sent, to carry pacer skips over into the senders' timestamps. */
  private readonly lastFrame = new Array<number>(SLOTS).fill(-1);
  private readonly pacer = new Pacer((t) => this.tick(t), { intervalMs: 20 / SLOTS, maxBurst: SLOTS * 3 });
  private frame: Buffer | undefined;
  private frameIndex = -1;
  private next = 0;
  /** Frames the pacer dropped after a stall (the generator fell behind). */
  skippedFrames = 0;

  constructor(private readonly source: OpusSource) {}

  add(sender: OpusSender): void {
    this.slots[this.next++ % SLOTS]!.add(sender);
  }

  delete(sender: OpusSender): void {
    for (const s of this.slots) s.delete(sender);
  }

  start(): void {
    this.pacer.start();
  }

  stop(): void {
    this.pacer.stop();
  }

  private tick(t: number): void {
    const index = Math.floor(t / SLOTS);
    const slot = t % SLOTS;
    if (index !== this.frameIndex) {
      if (this.frameIndex >= 0) this.skippedFrames += index - this.frameIndex - 1;
      this.frameIndex = index;
      this.frame = this.source.nextFrame(index);
    }
    const gap = this.lastFrame[slot]! < 0 ? 0 : index - this.lastFrame[slot]! - 1;
    this.lastFrame[slot] = index;
    const senders = this.slots[slot]!;
    // Stamped once per slot: its senders send at the same moment.
    const frame = this.frame && senders.size > 0 ? stampOpusPacket(this.frame, epochNow()) : this.frame;
    for (const sender of senders) {
      if (gap > 0) sender.skipFrames(gap);
      if (frame) sender.sendFrame(frame);
      else sender.skipFrames(1); // the source is silent (DTX): the next packet starts a talk spurt
    }
  }
}

/** Wall-clock ms with performance.now()'s resolution: one clock for every process of this machine. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}
