/**
 * VP8 over RTP (RFC 7741) back into whole frames, for recording without re-encoding. Pure.
 *
 * Payload descriptor, then the VP8 payload:
 *       0 1 2 3 4 5 6 7
 *      +-+-+-+-+-+-+-+-+
 *      |X|R|N|S|R| PID |  S: start of a partition; PID: partition index
 *      +-+-+-+-+-+-+-+-+
 *   X: |I|L|T|K| RSV   |  which optional fields follow
 *      +-+-+-+-+-+-+-+-+
 *   I: |M| PictureID   |  M: PictureID is 15 bits (one more byte)
 *      +-+-+-+-+-+-+-+-+
 *   L: |   TL0PICIDX   |
 *      +-+-+-+-+-+-+-+-+
 * T/K: |TID|Y| KEYIDX  |
 *      +-+-+-+-+-+-+-+-+
 * A frame starts with S=1, PID=0 and ends with the RTP marker bit; all its packets share one
 * timestamp and consecutive sequence numbers. Its first byte's low bit is 0 for a key frame,
 * whose header carries the size (RFC 6386 §9.1): start code 9d 01 2a, then 14-bit width and
 * height, little-endian.
 */
import { CallpeerError } from '../errors.js';
import { FrameAssembler, type FrameFormat, type FrameStats } from './frame-assembler.js';

export interface Vp8Frame {
  data: Buffer;
  /** RTP timestamp (90 kHz). */
  timestamp: number;
  keyframe: boolean;
  /** From a key frame's header. */
  width?: number;
  height?: number;
}

/** Offset of the VP8 payload after the descriptor; throws PARSE_ERROR when it runs past the end. */
export function vp8DescriptorLength(payload: Uint8Array): number {
  const fail = (at: number) => new CallpeerError('PARSE_ERROR', `VP8 payload descriptor truncated at offset ${at}`);
  if (payload.length < 1) throw fail(0);
  let at = 1;
  if (payload[0]! & 0x80) {
    if (payload.length < 2) throw fail(1);
    const x = payload[1]!;
    at = 2;
    if (x & 0x80) {
      if (payload.length <= at) throw fail(at);
      at += payload[at]! & 0x80 ? 2 : 1;
    }
    if (x & 0x40) at++;
    if (x & 0x30) at++;
  }
  if (at > payload.length) throw fail(payload.length);
  return at;
}

/** A VP8 payload descriptor's fields, as a forwarder needs them. */
export interface Vp8Descriptor {
  /** Bytes of the descriptor: the VP8 payload starts there. */
  length: number;
  /** S bit: first packet of a partition. */
  start: boolean;
  partitionIndex: number;
  /** Undefined when the I bit is clear. */
  pictureId: number | undefined;
  /** 7 or 15 (the M bit), 0 when there is no picture id. */
  pictureIdBits: 0 | 7 | 15;
  tl0PicIdx: number | undefined;
  temporalId: number | undefined;
  /** Y bit: a switching point up to this temporal layer. */
  layerSync: boolean;
  keyIdx: number | undefined;
  /** First packet of a key frame (S=1, PID=0, and the frame header's P bit clear). */
  keyframe: boolean;
}

/** Parses the descriptor of a VP8 RTP payload; PARSE_ERROR when it is truncated. */
export function parseVp8Descriptor(payload: Uint8Array): Vp8Descriptor {
  const length = vp8DescriptorLength(payload);
  const b0 = payload[0]!;
  const d: Vp8Descriptor = {
    length, start: (b0 & 0x10) !== 0, partitionIndex: b0 & 0x0f,
    pictureId: undefined, pictureIdBits: 0, tl0PicIdx: undefined, temporalId: undefined, layerSync: false, keyIdx: undefined,
    keyframe: false,
  };
  if (b0 & 0x80) {
    const x = payload[1]!;
    let at = 2;
    if (x & 0x80) {
      if (payload[at]! & 0x80) {
        d.pictureId = ((payload[at]! & 0x7f) << 8) | payload[at + 1]!;
        d.pictureIdBits = 15;
        at += 2;
      } else {
        d.pictureId = payload[at]!;
        d.pictureIdBits = 7;
        at++;
      }
    }
    if (x & 0x40) d.tl0PicIdx = payload[at++]!;
    if (x & 0x30) {
      const tk = payload[at]!;
      if (x & 0x20) { d.temporalId = tk >> 6; d.layerSync = (tk & 0x20) !== 0; }
      if (x & 0x10) d.keyIdx = tk & 0x1f;
    }
  }
  d.keyframe = d.start && d.partitionIndex === 0 && length < payload.length && (payload[length]! & 1) === 0;
  return d;
}

/**
 * Writes a picture id and TL0PICIDX into a descriptor laid out as `d` says, in place (fields
 * the descriptor lacks are left alone; the picture id keeps its 7- or 15-bit width and wraps).
 */
export function rewriteVp8Descriptor(payload: Uint8Array, d: Vp8Descriptor, pictureId: number | undefined, tl0PicIdx: number | undefined): void {
  if (!(payload[0]! & 0x80)) return;
  let at = 2;
  if (d.pictureIdBits === 15) {
    if (pictureId !== undefined) {
      payload[at] = 0x80 | ((pictureId >> 8) & 0x7f);
      payload[at + 1] = pictureId & 0xff;
    }
    at += 2;
  } else if (d.pictureIdBits === 7) {
    if (pictureId !== undefined) payload[at] = pictureId & 0x7f;
    at++;
  }
  if (d.tl0PicIdx !== undefined && tl0PicIdx !== undefined) payload[at] = tl0PicIdx & 0xff;
}

/** Width and height of a VP8 key frame, or undefined if it does not carry the start code. */
export function vp8KeyframeSize(frame: Uint8Array): { width: number; height: number } | undefined {
  if (frame.length < 10 || frame[0]! & 1 || frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  return { width: (frame[6]! | (frame[7]! << 8)) & 0x3fff, height: (frame[8]! | (frame[9]! << 8)) & 0x3fff };
}

/** Frame counts of a Vp8Depacketizer. */
export type Vp8Stats = FrameStats;

/** VP8's payload format for the frame assembler: a frame starts at S=1 with partition index 0. */
const VP8_FORMAT: FrameFormat<Vp8Frame> = {
  startsFrame: (payload) => (payload[0]! & 0x10) !== 0 && (payload[0]! & 0x0f) === 0,
  payloadOffset: vp8DescriptorLength,
  assemble(parts, timestamp) {
    const data = Buffer.concat(parts);
    if (data.length === 0) return undefined;
    const keyframe = (data[0]! & 1) === 0;
    return { data, timestamp, keyframe, ...(keyframe && vp8KeyframeSize(data)) };
  },
};

/**
 * Assembles VP8 frames from RTP packets in arrival order (media/frame-assembler.ts: a frame
 * with a missing packet is dropped with everything after it until the next key frame, and
 * `onNeedKeyframe` is called so the owner can send a PLI).
 */
export class Vp8Depacketizer extends FrameAssembler<Vp8Frame> {
  constructor(onFrame: (frame: Vp8Frame) => void, onNeedKeyframe?: () => void) {
    super(VP8_FORMAT, onFrame, onNeedKeyframe);
  }
}
