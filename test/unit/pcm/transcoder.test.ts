import { describe, expect, it } from 'vitest';
import { createTranscoder } from '../../../src/pcm/transcoder.js';
import { OpusDecoderStream, OpusEncoderStream } from '../../../src/media/opus.js';
import { bytesToInt16, int16ToBytes } from '../../../src/media/pcm.js';
import { ToneGenerator } from '../../../src/media/tone.js';
import { dominantFrequency } from '../../../src/media/analysis.js';
import type { PcmCodec, PcmRate } from '../../../src/protocol/pcm.js';

const TONE = 440;
const fmt = (codec: PcmCodec, rate: PcmRate) => ({ codec, rate });

/** One second of tone at `rate` as PCM frames of `frameMs`. */
function pcmFrames(rate: number, frameMs: number, seconds = 1): Buffer[] {
  const tone = new ToneGenerator(TONE, rate);
  const n = Math.round((rate * frameMs) / 1000);
  const frames: Buffer[] = [];
  for (let t = 0; t < seconds * 1000; t += frameMs) frames.push(Buffer.from(int16ToBytes(tone.next(n))));
  return frames;
}

function concat(chunks: Int16Array[]): Int16Array {
  const out = new Int16Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

describe('createTranscoder', () => {
  it('forwards same-format PCM and any Opus to Opus untouched (no transcoder)', () => {
    const sink = () => {};
    expect(createTranscoder(fmt('pcm', 16000), fmt('pcm', 16000), sink)).toBeUndefined();
    expect(createTranscoder(fmt('opus', 48000), fmt('opus', 16000), sink)).toBeUndefined();
  });

  it('re-frames PCM of any frame length into 20 ms Opus packets that decode to the tone', () => {
    const out: { frame: Buffer; ms: number }[] = [];
    const t = createTranscoder(fmt('pcm', 48000), fmt('opus', 48000), (frame, ms) => out.push({ frame, ms }))!;
    const frames = pcmFrames(48000, 7); // 7 ms frames: not a multiple of 20
    for (const f of frames) t.push(f);
    expect(frames.length).toBe(143);
    expect(out.length).toBe(50); // 1001 ms of input, 20 ms per packet, 1 ms still filling
    expect(out.every((o) => o.ms === 20)).toBe(true);
    const dec = new OpusDecoderStream(48000);
    const pcm = concat(out.map((o) => dec.decode(o.frame)));
    expect(pcm.length).toBe(50 * 960);
    expect(Math.abs(dominantFrequency(pcm.subarray(4800), 48000) - TONE)).toBeLessThanOrEqual(1);
    t.close();
  });

  it('reads PCM frames that sit at an odd byte offset (pooled ws buffers)', () => {
    const out: Buffer[] = [];
    const t = createTranscoder(fmt('pcm', 16000), fmt('pcm', 48000), (frame) => out.push(Buffer.from(frame)))!;
    for (const f of pcmFrames(16000, 20)) {
      const odd = Buffer.alloc(f.length + 1).subarray(1);
      f.copy(odd);
      t.push(odd);
    }
    const pcm = bytesToInt16(Buffer.concat(out));
    expect(Math.abs(pcm.length - 48000)).toBeLessThanOrEqual(1);
    expect(Math.abs(dominantFrequency(pcm.subarray(4800), 48000) - TONE)).toBeLessThanOrEqual(1);
  });

  it('resamples PCM 16 kHz to 48 kHz, 20 ms in giving 20 ms out', () => {
    const out: { frame: Buffer; ms: number }[] = [];
    const t = createTranscoder(fmt('pcm', 16000), fmt('pcm', 48000), (frame, ms) => out.push({ frame: Buffer.from(frame), ms }))!;
    for (const f of pcmFrames(16000, 20)) t.push(f);
    expect(out.length).toBe(50);
    expect(out.slice(1).every((o) => o.ms === 20 && o.frame.length === 1920)).toBe(true);
    const pcm = bytesToInt16(Buffer.concat(out.map((o) => o.frame)));
    expect(Math.abs(dominantFrequency(pcm.subarray(4800), 48000) - TONE)).toBeLessThanOrEqual(1);
  });

  it('decodes Opus straight to the receiver rate (16 kHz)', () => {
    const enc = new OpusEncoderStream(48000);
    const tone = new ToneGenerator(TONE, 48000);
    const out: { frame: Buffer; ms: number }[] = [];
    const t = createTranscoder(fmt('opus', 48000), fmt('pcm', 16000), (frame, ms) => out.push({ frame: Buffer.from(frame), ms }))!;
    for (let i = 0; i < 50; i++) t.push(enc.encode(tone.next(960)));
    expect(out.every((o) => o.ms === 20 && o.frame.length === 640)).toBe(true);
    const pcm = bytesToInt16(Buffer.concat(out.map((o) => o.frame)));
    expect(Math.abs(dominantFrequency(pcm.subarray(1600), 16000) - TONE)).toBeLessThanOrEqual(1);
    t.close();
  });

  it('refuses a frame that is not an Opus packet with INVALID_MESSAGE', () => {
    const t = createTranscoder(fmt('opus', 48000), fmt('pcm', 48000), () => {})!;
    // TOC code 3 (arbitrary frame count) with a frame count of 0 is invalid
    let code: string | undefined;
    try { t.push(Buffer.from([0xfb, 0x00, 1, 2, 3, 4, 5, 6, 7, 8])); } catch (err) { code = (err as { code?: string }).code; }
    expect(code).toBe('INVALID_MESSAGE');
  });
});
