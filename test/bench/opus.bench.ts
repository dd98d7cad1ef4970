/**
 * Opus encode/decode cost per 20 ms mono frame: library defaults vs OPUS_FAST_DEFAULTS, at
 * 48 and 16 kHz, on a 440 Hz tone. Prints µs per call, bytes per packet, the decoded tone's
 * frequency and the ratio chosen/default. Run: node --import tsx test/bench/opus.bench.ts
 */
import { OpusDecoderStream, OpusEncoderStream, type OpusRate } from '../../src/media/opus.js';
import { ToneGenerator } from '../../src/media/tone.js';
import { dominantFrequency } from '../../src/media/analysis.js';

const FRAMES = 250; // 5 s of distinct frames, cycled
const ENCODES = 5000;

interface Result { encodeUs: number; decodeUs: number; bytes: number; hz: number }

function measure(rate: OpusRate, defaults: boolean): Result {
  const gen = new ToneGenerator(440, rate);
  const frames = Array.from({ length: FRAMES }, () => gen.next(rate / 50));
  const enc = new OpusEncoderStream(rate, defaults ? null : {});
  const dec = new OpusDecoderStream(rate);
  for (const f of frames) enc.encode(f); // warm up
  const packets: Buffer[] = [];
  let t = process.hrtime.bigint();
  for (let i = 0; i < ENCODES; i++) packets.push(enc.encode(frames[i % FRAMES]!));
  const encodeUs = Number(process.hrtime.bigint() - t) / 1000 / ENCODES;
  const decoded = new Int16Array(ENCODES * (rate / 50));
  t = process.hrtime.bigint();
  for (let i = 0; i < ENCODES; i++) decoded.set(dec.decode(packets[i]!), i * (rate / 50));
  const decodeUs = Number(process.hrtime.bigint() - t) / 1000 / ENCODES;
  const bytes = packets.reduce((n, p) => n + p.length, 0) / ENCODES;
  return { encodeUs, decodeUs, bytes, hz: dominantFrequency(decoded.subarray(rate, 2 * rate), rate) };
}

for (const rate of [48000, 16000] as const) {
  const base = measure(rate, true);
  const fast = measure(rate, false);
  const row = (name: string, r: Result): string =>
    `${name.padEnd(22)} encode ${r.encodeUs.toFixed(1).padStart(6)} µs  decode ${r.decodeUs.toFixed(1).padStart(6)} µs  ${r.bytes.toFixed(0).padStart(4)} B/packet  tone ${r.hz} Hz`;
  console.log(`Opus mono ${rate} Hz, 20 ms frames`);
  console.log(row('  library default', base));
  console.log(row('  OPUS_FAST_DEFAULTS', fast));
  console.log(`  ratio chosen/default: encode ${(fast.encodeUs / base.encodeUs).toFixed(2)}x, decode ${(fast.decodeUs / base.decodeUs).toFixed(2)}x`);
}
