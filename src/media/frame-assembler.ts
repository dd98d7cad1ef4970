/**
 * Whole video frames from RTP packets in arrival order, for a recorder: the same state
 * machine for every codec whose frames end at the RTP marker bit (VP8, H.264), given a
 * `FrameFormat` that knows where a frame starts and how its payloads join. Pure.
 *
 * A frame with a missing packet is dropped, and so is everything after it until the next key
 * frame (what follows would not decode): `onNeedKeyframe` is then called so the owner can
 * send a PLI. A sequence gap between two frames (a whole frame lost) counts the same.
 * Reordered packets count as missing (a recorder receives over one connection, where that is
 * rare). Padding-only packets (empty payload) only move the sequence on. push() never throws:
 * a payload the format cannot read is counted as malformed and handled as a loss.
 */
export interface FramePacket {
  sequenceNumber: number;
  /** RTP timestamp (90 kHz for video). */
  timestamp: number;
  marker: boolean;
  /** The RTP payload (after the header and extensions, before any padding). */
  payload: Uint8Array;
}

export interface FrameStats {
  frames: number;
  /** Frames dropped: a packet missing, or waiting for a key frame after one was. */
  dropped: number;
  /** Payloads the format could not read. */
  malformed: number;
}

/** What the assembler needs of one codec's RTP payload format. */
export interface FrameFormat<F extends { keyframe: boolean }> {
  /** Whether this payload begins a frame; `openTimestamp` is the timestamp of the frame being assembled, if any. */
  startsFrame(payload: Uint8Array, timestamp: number, openTimestamp: number | undefined): boolean;
  /** Where the codec's bytes start in the payload (after a payload descriptor); throws PARSE_ERROR. */
  payloadOffset(payload: Uint8Array): number;
  /** The frame from its payloads, each cut at payloadOffset; undefined when it holds nothing; throws PARSE_ERROR. */
  assemble(parts: readonly Uint8Array[], timestamp: number): F | undefined;
}

export class FrameAssembler<F extends { keyframe: boolean }> {
  readonly stats: FrameStats = { frames: 0, dropped: 0, malformed: 0 };
  private parts: Uint8Array[] = [];
  private timestamp = 0;
  /** Sequence number expected next; -1 before the first packet. */
  private nextSeq = -1;
  /** The open frame lost a packet: the rest of it is skipped. */
  private broken = false;
  private waitingForKey = true;

  constructor(
    private readonly format: FrameFormat<F>,
    private readonly onFrame: (frame: F) => void,
    private readonly onNeedKeyframe: () => void = () => {},
  ) {}

  push(p: FramePacket): void {
    const gap = this.nextSeq >= 0 && p.sequenceNumber !== this.nextSeq;
    this.nextSeq = (p.sequenceNumber + 1) & 0xffff;
    if (p.payload.length === 0) {
      if (gap) this.broke();
      return; // padding only (bandwidth probes): not media
    }
    let offset: number;
    try {
      offset = this.format.payloadOffset(p.payload);
    } catch {
      this.stats.malformed++;
      this.broke();
      return;
    }
    if (this.format.startsFrame(p.payload, p.timestamp, this.parts.length > 0 ? this.timestamp : undefined)) {
      // The previous frame never got its last packet, or whole frames went missing in between.
      if (this.parts.length > 0 || (gap && !this.broken)) this.lose();
      this.parts = [];
      this.broken = false;
      this.timestamp = p.timestamp;
    } else if (this.parts.length === 0 || gap || p.timestamp !== this.timestamp) {
      this.broke();
      return;
    }
    if (this.broken) return;
    this.parts.push(p.payload.subarray(offset));
    if (p.marker) this.complete();
  }

  private complete(): void {
    let frame: F | undefined;
    try {
      frame = this.format.assemble(this.parts, this.timestamp);
    } catch {
      this.stats.malformed++;
      this.lose();
      return;
    }
    this.parts = [];
    if (!frame) return;
    if (this.waitingForKey && !frame.keyframe) {
      this.stats.dropped++;
      this.onNeedKeyframe();
      return;
    }
    this.waitingForKey = false;
    this.stats.frames++;
    this.onFrame(frame);
  }

  /** The open frame (if any) lost a packet: drop it once, skip the rest of it. */
  private broke(): void {
    if (!this.broken) this.lose();
    this.broken = true;
  }

  private lose(): void {
    this.parts = [];
    this.stats.dropped++;
    if (!this.waitingForKey) this.onNeedKeyframe();
    this.waitingForKey = true;
  }
}
