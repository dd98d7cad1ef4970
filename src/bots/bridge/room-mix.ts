/**
 * What the bridge hears: every participant's Opus stream through its own playout (a jitter
 * buffer putting packets back in order, libopus concealment for lost ones, media/opus-playout.ts),
 * and one 48 kHz 20 ms frame a tick that sums them all (the bridge's own voice never comes
 * back to it: neither the SFU nor a mesh peer sends it its own track).
 */
import { OpusPlayout } from '../../media/opus-playout.js';
import { clampInt16 } from '../../media/pcm.js';

const FRAME = 960;

export class RoomMix {
  private readonly sources = new Map<string, OpusPlayout>();
  private readonly sum = new Int32Array(FRAME);
  private readonly out = new Int16Array(FRAME);

  /** One Opus payload heard from `from`, with its RTP sequence number. */
  hear(from: string, seq: number, payload: Uint8Array): void {
    let s = this.sources.get(from);
    if (!s) this.sources.set(from, (s = new OpusPlayout(48000)));
    s.push(seq, payload);
  }

  /** `from` left: its stream is forgotten. */
  remove(from: string): void {
    this.sources.get(from)?.release();
    this.sources.delete(from);
  }

  /** This tick's mix (reused: copy to keep it); silence when nobody speaks. */
  mix(): Int16Array {
    const sum = this.sum;
    sum.fill(0);
    for (const s of this.sources.values()) {
      const frame = s.take();
      if (frame && frame.length === FRAME) for (let i = 0; i < FRAME; i++) sum[i]! += frame[i]!;
    }
    for (let i = 0; i < FRAME; i++) this.out[i] = clampInt16(sum[i]!);
    return this.out;
  }

  close(): void {
    for (const id of [...this.sources.keys()]) this.remove(id);
  }
}
