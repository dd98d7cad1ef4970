/**
 * Reading an Opus packet's duration from its TOC byte (RFC 6716 §3.1), without decoding:
 * what Ogg Opus granule positions and recorders need. Pure; no native code.
 *
 *  0 1 2 3 4 5 6 7
 * +-+-+-+-+-+-+-+-+
 * | config  |s| c |   config: mode and frame size; s: stereo; c: frame count code
 * +-+-+-+-+-+-+-+-+   (0: 1 frame, 1-2: 2 frames, 3: count in the next byte's low 6 bits)
 */
import { CallpeerError } from '../errors.js';

/** Frame size in 48 kHz samples for each TOC config (0-11 SILK, 12-15 hybrid, 16-31 CELT). */
function frameSamples48k(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]!;
  if (config < 16) return [480, 960][config % 2]!;
  return [120, 240, 480, 960][config % 4]!;
}

/** Samples at 48 kHz the packet decodes to. Throws PARSE_ERROR on an empty or malformed packet. */
export function opusPacketSamples48k(packet: Uint8Array): number {
  if (packet.length === 0) throw new CallpeerError('PARSE_ERROR', 'empty Opus packet at offset 0');
  const toc = packet[0]!;
  const code = toc & 3;
  let frames: number;
  if (code === 0) frames = 1;
  else if (code < 3) frames = 2;
  else {
    if (packet.length < 2) throw new CallpeerError('PARSE_ERROR', 'Opus code 3 packet without its frame count at offset 1');
    frames = packet[1]! & 0x3f;
    if (frames === 0) throw new CallpeerError('PARSE_ERROR', 'Opus code 3 packet with 0 frames at offset 1');
  }
  const samples = frames * frameSamples48k(toc >> 3);
  if (samples > 5760) throw new CallpeerError('PARSE_ERROR', `Opus packet of ${samples / 48} ms exceeds 120 ms at offset 1`);
  return samples;
}

/**
 * The TOC byte of a one-frame 20 ms packet in the same mode, bandwidth and channel count as
 * `toc`. Sent alone (no frame data: what Opus DTX sends), it makes libopus conceal exactly
 * 20 ms with its packet-loss concealment, continuing from the last frame it decoded.
 */
export function opusConcealToc(toc: number): number {
  const config = toc >> 3;
  // 20 ms is the second size of SILK's 10/20/40/60 and hybrid's 10/20, the last of CELT's 2.5/5/10/20.
  const config20 = config < 12 ? (config & ~3) | 1 : config < 16 ? (config & ~1) | 1 : config | 3;
  return (config20 << 3) | (toc & 0x04); // code 0: one frame
}

/**
 * A 20 ms lost-packet marker in the mode of `toc`: the concealing TOC byte alone. Written where
 * a packet was lost (the recorder's files), it makes any Opus decoder conceal the frame rather
 * than play silence, and tells ours to rebuild it from the next packet's FEC (isOpusLossMarker).
 */
export function opusLossMarker(toc: number): Buffer {
  return Buffer.of(opusConcealToc(toc));
}

/** True for a SILK or hybrid packet (TOC config 0-15): only those can carry in-band FEC (LBRR); CELT ones cannot. */
export function opusMayCarryFec(packet: Uint8Array): boolean {
  return packet.length > 1 && packet[0]! >> 3 < 16;
}

/** True for a packet that is a TOC byte alone with one empty frame (RFC 6716 §3.2.1: a lost frame, or DTX). */
export function isOpusLossMarker(packet: Uint8Array): boolean {
  return packet.length === 1 && (packet[0]! & 3) === 0;
}

/**
 * CELT fullband mono silence frames by length in samples: the TOC byte (configs 31, 30, 29,
 * 28: 20, 10, 5, 2.5 ms, code 0) and two bytes whose range-coded first symbol is the
 * "silence" flag. They decode to exact zeros.
 */
export const SILENCE_FRAMES: ReadonlyArray<readonly [number, Buffer]> = [
  [960, Buffer.from([0xf8, 0xff, 0xfe])],
  [480, Buffer.from([0xf0, 0xff, 0xfe])],
  [240, Buffer.from([0xe8, 0xff, 0xfe])],
  [120, Buffer.from([0xe0, 0xff, 0xfe])],
];
