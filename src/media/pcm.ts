/**
 * Raw PCM helpers: signed 16-bit little-endian bytes <-> Int16Array, Int16 <-> Float32,
 * downmix and mixing. Pure, no I/O.
 */
import { CallpeerError } from '../errors.js';

/** True on little-endian hosts (all Node platforms we run on); typed arrays use host order. */
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Copies Int16 LE bytes into a fresh, aligned Int16Array. Always copies: a ws message Buffer
 * can sit at an odd byteOffset in a pooled slab, where an Int16Array view would throw.
 * Throws PARSE_ERROR on an odd byte count.
 */
export function bytesToInt16(bytes: Uint8Array): Int16Array {
  if (bytes.length % 2 !== 0) {
    throw new CallpeerError('PARSE_ERROR', `PCM16 byte count ${bytes.length} is odd (at offset ${bytes.length - 1})`);
  }
  const out = new Int16Array(bytes.length / 2);
  if (HOST_LE) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    for (let i = 0; i < out.length; i++) out[i] = (bytes[2 * i]! | (bytes[2 * i + 1]! << 8)) << 16 >> 16;
  }
  return out;
}

/** Int16 samples of PCM16 LE bytes: a view when the Buffer is 2-byte aligned (little-endian host), else a copy. */
export function int16Samples(bytes: Uint8Array): Int16Array {
  return HOST_LE && bytes.byteOffset % 2 === 0 && bytes.length % 2 === 0 ? new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2) : bytesToInt16(bytes);
}

/**
 * Int16 samples as LE bytes. On a little-endian host this is a view on the same memory
 * (no copy): do not modify `samples` while the Buffer is in use.
 */
export function int16ToBytes(samples: Int16Array): Buffer {
  if (HOST_LE) return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const out = Buffer.allocUnsafe(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i]!, 2 * i);
  return out;
}

/** Int16 -> Float32 in [-1, 1) (divides by 32768, as Web Audio does). */
export function int16ToFloat32(samples: Int16Array, out: Float32Array = new Float32Array(samples.length)): Float32Array {
  for (let i = 0; i < samples.length; i++) out[i] = samples[i]! / 32768;
  return out;
}

/** Rounds and clamps one float sample in [-1, 1] to Int16. */
export function floatToInt16Sample(x: number): number {
  const v = Math.round(x * 32768);
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/** Float32 in [-1, 1] -> Int16, rounded and clamped (out-of-range input saturates). */
export function float32ToInt16(samples: Float32Array, out: Int16Array = new Int16Array(samples.length)): Int16Array {
  for (let i = 0; i < samples.length; i++) out[i] = floatToInt16Sample(samples[i]!);
  return out;
}

/** Clamps an integer sum to the Int16 range. */
export function clampInt16(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/**
 * Averages interleaved channels into mono, e.g. stereo L R L R -> (L+R)/2. Averaging (not
 * summing) keeps a full-scale stereo signal from clipping.
 */
export function downmixToMono(interleaved: Int16Array, channels: number): Int16Array {
  if (!Number.isInteger(channels) || channels < 1) throw new TypeError(`channels must be a positive integer, got ${channels}`);
  if (channels === 1) return interleaved;
  const frames = Math.floor(interleaved.length / channels);
  const out = new Int16Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += interleaved[f * channels + c]!;
    out[f] = Math.round(sum / channels);
  }
  return out;
}

/**
 * Sums several mono streams sample by sample with saturation (what a small conference mixer
 * does). The output has the length of the longest input; shorter inputs count as silence.
 */
export function mixInt16(inputs: readonly Int16Array[], out?: Int16Array): Int16Array {
  let length = 0;
  for (const s of inputs) length = Math.max(length, s.length);
  const result = out ?? new Int16Array(length);
  for (let i = 0; i < result.length; i++) {
    let sum = 0;
    for (const s of inputs) if (i < s.length) sum += s[i]!;
    result[i] = clampInt16(sum);
  }
  return result;
}

/** Scales samples by a linear gain with saturation, in place. Returns `samples`. */
export function applyGain(samples: Int16Array, gain: number): Int16Array {
  for (let i = 0; i < samples.length; i++) samples[i] = clampInt16(Math.round(samples[i]! * gain));
  return samples;
}
