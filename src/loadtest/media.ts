/**
 * The media every simulated peer of one process shares: one audio source encoded once per
 * 20 ms whatever the number of peers, one pacer driving every sender, and a log of when each
 * RTP packet left, so a receiver in the same process computes its one-way latency on the
 * same clock (performance.now()) without any change on the wire.
 */
import { openAudioFile } from '../client/audio-files.js';
import { OpusEncoderStream } from '../media/opus.js';
import { ToneSource, type OpusSource } from '../media/opus-sources.js';
import type { MediaTrack } from '../rtc/media-track.js';
import type { OpusSender } from '../rtc/opus-sender.js';
import { Pacer } from '../time/pacer.js';
import { stampOpusPacket } from '../media/opus-stamp.js';
import type { LoadAudio } from './params.js';

/** 20 ms is split in this many slots and senders are spread over them, as independent clients would be. */
const SLOTS = 4;
/** Send times kept per SSRC: 512 packets, 10 s of audio; a packet later than that has no latency. */
const RING = 512;

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

interface Ring { seqs: Int32Array; times: Float64Array }

/**
 * When each RTP packet left, by stream and sequence number. A stream is keyed by its SSRC in
 * a mesh; through an SFU, which rewrites SSRCs but passes sequence numbers on, by the
 * publisher's participant id (the receiver knows it from the track's stream id).
 */
export class SendLog {
  private readonly byStream = new Map<number | string, Ring>();

  /**
   * Records every RTP packet sent on `track` from now on. OpusSender writes its own headers
   * and keeps the sequence number to itself, so the send path of the track is wrapped: it
   * reads the SSRC and sequence number the packet really carries.
   */
  watch(track: MediaTrack, key: number | string = track.localSsrc): void {
    const ring: Ring = { seqs: new Int32Array(RING).fill(-1), times: new Float64Array(RING) };
    this.byStream.set(key, ring);
    const send = track.send.bind(track);
    track.send = (packet: Buffer): boolean => {
      const pt = packet[1]!;
      // Timed before the call: on loopback the kernel delivers inside it. RTCP (RFC 5761
      // range) is not timed; a failed send keeps its sequence number, so the next overwrites it.
      if (pt < 192 || pt > 223) {
        const seq = (packet[2]! << 8) | packet[3]!;
        ring.seqs[seq % RING] = seq;
        ring.times[seq % RING] = performance.now();
      }
      return send(packet);
    };
  }

  forget(key: number | string): void {
    this.byStream.delete(key);
  }

  /**
   * A reader of one stream's send times: ms since packet `seq` was sent, or undefined when it
   * was not sent from this process (or too long ago). Resolved once per stream, not per packet.
   */
  lookup(key: number | string): (seq: number, now: number) => number | undefined {
    let ring: Ring | undefined;
    return (seq, now) => {
      ring ??= this.byStream.get(key);
      if (!ring || ring.seqs[seq % RING] !== seq) return undefined;
      return now - ring.times[seq % RING]!;
    };
  }
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

  /**
   * `stamp`: every packet carries its send time (media/opus-stamp.ts, epoch ms) so receivers
   * behind servers that renumber packets (WHIP/WHEP runs against any server) still time it.
   */
  constructor(private readonly source: OpusSource, private readonly options: { stamp?: boolean } = {}) {}

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
    const frame = this.frame && this.options.stamp && senders.size > 0 ? stampOpusPacket(this.frame, epochNow()) : this.frame;
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
