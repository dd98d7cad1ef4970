/**
 * What the bridge hears: every participant's Opus stream decoded once into a short jitter
 * cushion, and one 48 kHz 20 ms frame a tick that sums them all (the bridge's own voice never
 * comes back to it: neither the SFU nor a mesh peer sends it its own track).
 */
import { FrameQueue } from '../../media/frame-queue.js';
import { OpusDecoderStream } from '../../media/opus.js';
import { clampInt16 } from '../../media/pcm.js';

const FRAME = 960;

interface Source { decoder: OpusDecoderStream; queue: FrameQueue }

export class RoomMix {
  private readonly sources = new Map<string, Source>();
  private readonly sum = new Int32Array(FRAME);
  private readonly out = new Int16Array(FRAME);

  /** One Opus payload heard from `from`. A packet that does not decode is a gap. */
  hear(from: string, payload: Uint8Array): void {
    let s = this.sources.get(from);
    if (!s) {
      s = { decoder: new OpusDecoderStream(48000), queue: new FrameQueue() };
      this.sources.set(from, s);
    }
    let pcm: Int16Array;
    try {
      pcm = s.decoder.decode(payload);
    } catch {
      return;
    }
    if (pcm.length === FRAME) s.queue.push(pcm);
  }

  /** `from` left: its stream is forgotten. */
  remove(from: string): void {
    const s = this.sources.get(from);
    if (!s) return;
    s.decoder.release();
    this.sources.delete(from);
  }

  /** This tick's mix (reused: copy to keep it); silence when nobody speaks. */
  mix(): Int16Array {
    const sum = this.sum;
    sum.fill(0);
    for (const s of this.sources.values()) {
      const frame = s.queue.take();
      if (frame) for (let i = 0; i < FRAME; i++) sum[i]! += frame[i]!;
    }
    for (let i = 0; i < FRAME; i++) this.out[i] = clampInt16(sum[i]!);
    return this.out;
  }

  close(): void {
    for (const id of [...this.sources.keys()]) this.remove(id);
  }
}
