/**
 * Opus encode/decode cost per 20 ms mono frame: library defaults vs OPUS_FAST_DEFAULTS, at
 * 48 and 16 kHz, on a 440 Hz tone. Prints µs per call, bytes per packet, the decoded tone's
 * frequency and the ratio chosen/default. Then the costs of loss protection (issue 15): the
 * encoder once a lossy link is reported (FEC on: SILK with LBRR) against the fast defaults,
 * and our WebAssembly decoder (OpusDecoderStream, which can decode FEC) against the native
 * @discordjs/opus decode it replaced, on the same packets.
 * Run: npm run bench -- opus
 */
import opus from '@discordjs/opus';
import { OpusDecoderStream, OpusEncoderStream, type OpusRate } from '../../src/media/opus.js';
import { ToneGenerator } from '../../src/media/tone.js';
import { dominantFrequency } from '../../src/media/analysis.js';

const FRAMES = 250; // 5 s of distinct frames, cycled
const ENCODES = 5000;

interface Result { encodeUs: number; decodeUs: number; bytes: number; hz: number }

function measure(rate: OpusRate, defaults: boolean, lossy = false): Result {
  const gen = new ToneGenerator(440, rate);
  const frames = Array.from({ length: FRAMES }, () => gen.next(rate / 50));
  const enc = new OpusEncoderStream(rate, defaults ? null : {});
  if (lossy) for (let i = 0; i < 3; i++) enc.reportLoss(0.05); // hint 9 %: SILK with LBRR
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

/** Decode µs per packet: the native binding (baseline) and OpusDecoderStream, alternated so both see the same machine load. */
function decodeCost(packets: Buffer[]): { nativeUs: number; wasmUs: number } {
  let nativeNs = 0;
  let wasmNs = 0;
  for (let round = 0; round < 4; round++) {
    const native = new opus.OpusEncoder(48000, 1);
    const wasm = new OpusDecoderStream(48000);
    let t = process.hrtime.bigint();
    for (const p of packets) native.decode(p);
    if (round > 0) nativeNs += Number(process.hrtime.bigint() - t); // round 0 warms up
    t = process.hrtime.bigint();
    for (const p of packets) wasm.decode(p);
    if (round > 0) wasmNs += Number(process.hrtime.bigint() - t);
  }
  return { nativeUs: nativeNs / 1000 / 3 / packets.length, wasmUs: wasmNs / 1000 / 3 / packets.length };
}

{
  const fast = measure(48000, false);
  const lossy = measure(48000, false, true);
  console.log('Loss protection, mono 48 kHz, 20 ms frames');
  console.log(`  encode, clean link (CELT) ${fast.encodeUs.toFixed(1).padStart(6)} µs  ${fast.bytes.toFixed(0)} B/packet`);
  console.log(`  encode, lossy link (FEC)  ${lossy.encodeUs.toFixed(1).padStart(6)} µs  ${lossy.bytes.toFixed(0)} B/packet  tone ${lossy.hz} Hz  ratio ${(lossy.encodeUs / fast.encodeUs).toFixed(2)}x`);
  for (const [name, lossyLink] of [['CELT', false], ['SILK+LBRR', true]] as const) {
    const gen = new ToneGenerator(440, 48000);
    const enc = new OpusEncoderStream(48000);
    if (lossyLink) for (let i = 0; i < 3; i++) enc.reportLoss(0.05);
    const packets = Array.from({ length: ENCODES }, () => enc.encode(gen.next(960)));
    const { nativeUs, wasmUs } = decodeCost(packets);
    console.log(`  decode ${name.padEnd(10)} native ${nativeUs.toFixed(1).padStart(5)} µs  wasm ${wasmUs.toFixed(1).padStart(5)} µs  ratio wasm/native ${(wasmUs / nativeUs).toFixed(2)}x`);
  }
}
