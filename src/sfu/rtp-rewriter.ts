/**
 * Turns packets from a sequence of source streams (the simulcast layers a subscriber is
 * switched between) into one continuous outgoing stream: one SSRC, sequence numbers that
 * follow on without a gap, timestamps that advance by the wall-clock time between the last
 * packet of the old layer and the first of the new, and VP8 picture ids and TL0PICIDX that go
 * on counting. To the subscriber's decoder a switch looks like the next frame, never a new
 * stream. In place, on the header offsets RFC 3550 fixes; pure apart from the packet bytes.
 *
 * Per source, the offsets are fixed when it is switched to (at its key frame, which the layer
 * selector guarantees), so packets of that source reordered by the network keep their order
 * and spacing; a packet older than the switch point is dropped (it belongs to a frame the
 * subscriber never had the start of).
 */
import { seqDiff, setRtpPayloadType, setRtpSequenceNumber, setRtpSsrc, setRtpTimestamp, type RtpPacketInfo } from '../media/rtp.js';
import { rewriteVp8Descriptor, type Vp8Descriptor } from '../media/vp8.js';

export interface RtpRewriterOptions {
  /** The outgoing SSRC (the subscriber's track). */
  ssrc: number;
  payloadType: number;
  /** RTP clock of the codec (90000 for video). */
  clockRate: number;
  /** Rewrite VP8 picture ids and TL0PICIDX too. */
  vp8: boolean;
}

/**
 * How far behind the source's newest packet the drop floor may trail. seqDiff reads a distance
 * over half the 16-bit space as negative: a floor left where the switch happened would, 32,768
 * packets later, drop everything for the next 32,768 (minutes of video). A packet this late is
 * stale anyway (the NACK cache holds far fewer).
 */
const FLOOR_LAG = 0x1000;

interface SourceOffsets {
  ssrc: number;
  seq: number;
  timestamp: number;
  pictureId: number;
  tl0: number;
  /**
   * Packets of the source older than this are dropped: where we switched to it, then trailing
   * the newest by at most FLOOR_LAG (so it never reads as ahead once the numbers wrap).
   */
  floorSeq: number;
}

export class RtpRewriter {
  /** The last sequence number sent (the highest, modulo 2^16). */
  lastSequenceNumber = 0;
  /** The timestamp of the newest packet sent. */
  lastTimestamp = 0;
  /** Source switches so far (the first stream counts as one). */
  switches = 0;
  private source: SourceOffsets | undefined;
  private lastSentMs = 0;
  private lastPictureId = -1;
  private lastTl0 = -1;
  private readonly timestampOffsets = new Map<number, number>();

  constructor(private readonly options: RtpRewriterOptions) {}

  /**
   * The next packet starts anew (after a pause in forwarding, e.g. unsubscribe/subscribe): it
   * follows on from the last one sent as if the source had switched, so the packets skipped
   * meanwhile leave no gap for the subscriber to report as loss.
   */
  restart(): void {
    this.source = undefined;
  }

  /** The SSRC of the source being forwarded, undefined before the first packet. */
  get currentSource(): number | undefined {
    return this.source?.ssrc;
  }

  /** What was added to `ssrc`'s timestamps when it was last forwarded (0 if never). */
  timestampOffsetOf(ssrc: number): number {
    return this.timestampOffsets.get(ssrc) ?? 0;
  }

  /**
   * Rewrites `packet` (whose parsed header is `h`) for the outgoing stream. Returns false when
   * the packet must not be sent (older than the switch to its source). `vp8` is the packet's
   * descriptor as the publisher sent it, when the codec is VP8.
   */
  rewrite(packet: Buffer, h: RtpPacketInfo, nowMs: number, vp8: Vp8Descriptor | undefined): boolean {
    let src = this.source;
    if (!src || src.ssrc !== h.ssrc) src = this.switchTo(h, nowMs, vp8);
    else {
      const ahead = seqDiff(h.sequenceNumber, src.floorSeq);
      if (ahead < 0) return false;
      if (ahead > FLOOR_LAG) src.floorSeq = (h.sequenceNumber - FLOOR_LAG) & 0xffff;
    }
    const seq = (h.sequenceNumber + src.seq) & 0xffff;
    const ts = (h.timestamp + src.timestamp) >>> 0;
    setRtpSsrc(packet, this.options.ssrc);
    setRtpPayloadType(packet, this.options.payloadType);
    setRtpSequenceNumber(packet, seq);
    setRtpTimestamp(packet, ts);
    if (seqDiff(seq, this.lastSequenceNumber) > 0) {
      this.lastSequenceNumber = seq;
      this.lastTimestamp = ts;
    }
    this.lastSentMs = nowMs;
    if (this.options.vp8 && vp8) this.rewriteVp8(packet, h, vp8, src);
    return true;
  }

  private switchTo(h: RtpPacketInfo, nowMs: number, vp8: Vp8Descriptor | undefined): SourceOffsets {
    const first = this.switches === 0;
    this.switches++;
    // The first stream goes out as it came; a later one continues right after the last packet.
    const seq = first ? 0 : (this.lastSequenceNumber + 1 - h.sequenceNumber) & 0xffff;
    const elapsed = first ? 0 : Math.max(1, Math.round(((nowMs - this.lastSentMs) * this.options.clockRate) / 1000));
    const timestamp = first ? 0 : (this.lastTimestamp + elapsed - h.timestamp) >>> 0;
    let pictureId = 0;
    let tl0 = 0;
    if (vp8 && !first) {
      if (vp8.pictureId !== undefined && this.lastPictureId >= 0) pictureId = mod(this.lastPictureId + 1 - vp8.pictureId, pictureIdModulus(vp8));
      if (vp8.tl0PicIdx !== undefined && this.lastTl0 >= 0) tl0 = (this.lastTl0 + 1 - vp8.tl0PicIdx) & 0xff;
    }
    this.source = { ssrc: h.ssrc, seq, timestamp, pictureId, tl0, floorSeq: h.sequenceNumber };
    this.timestampOffsets.set(h.ssrc, timestamp);
    if (first) {
      // Seed "last" so the first packet's own numbers count as sent.
      this.lastSequenceNumber = (h.sequenceNumber - 1) & 0xffff;
      this.lastTimestamp = h.timestamp;
    }
    return this.source;
  }

  private rewriteVp8(packet: Buffer, h: RtpPacketInfo, d: Vp8Descriptor, src: SourceOffsets): void {
    const m = pictureIdModulus(d);
    const pictureId = d.pictureId === undefined ? undefined : mod(d.pictureId + src.pictureId, m);
    const tl0 = d.tl0PicIdx === undefined ? undefined : (d.tl0PicIdx + src.tl0) & 0xff;
    if (pictureId !== undefined && (this.lastPictureId < 0 || signedDiff(pictureId, this.lastPictureId, m) > 0)) this.lastPictureId = pictureId;
    if (tl0 !== undefined && (this.lastTl0 < 0 || signedDiff(tl0, this.lastTl0, 0x100) > 0)) this.lastTl0 = tl0;
    if (src.pictureId === 0 && src.tl0 === 0) return; // unchanged: leave the bytes alone
    rewriteVp8Descriptor(packet.subarray(h.payloadOffset), d, pictureId, tl0);
  }
}

/** Picture ids wrap at 2^15 or, in the short form, 2^7. */
function pictureIdModulus(d: Vp8Descriptor): number {
  return d.pictureIdBits === 7 ? 0x80 : 0x8000;
}

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

/** a - b modulo m (a power of two), as a signed value: positive when a is newer. */
function signedDiff(a: number, b: number, m: number): number {
  const d = mod(a - b, m);
  return d >= m / 2 ? d - m : d;
}
