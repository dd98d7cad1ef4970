/**
 * libopus's decoder as WebAssembly, for what @discordjs/opus cannot do: in-band FEC. Its
 * decode() passes decode_fec = 0 always; here opus_decode is called directly, so a lost
 * frame can be rebuilt from the LBRR data its successor carries (decode_fec = 1).
 *
 * The module is the one @evan/opus ships (wasm/simd.wasm where the engine has SIMD, else
 * wasm/opus.wasm: libopus built with emscripten, exporting the raw C API plus malloc/free; no
 * version string is exported). It is instantiated once per process, on first use, with the
 * same no-op imports @evan/opus gives it (libopus never writes to a file). Each decoder owns
 * its libopus state in the module's memory; packets and samples pass through one scratch area,
 * which is safe because every call runs to completion on the one JS thread.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CallpeerError } from '../errors.js';

/** The little of the WebAssembly JS API used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, () => number>>) => { exports: unknown };
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface OpusExports {
  memory: { buffer: ArrayBuffer };
  malloc(size: number): number;
  free(ptr: number): void;
  opus_decoder_get_size(channels: number): number;
  opus_decoder_init(st: number, rate: number, channels: number): number;
  opus_decode(st: number, data: number, len: number, pcm: number, frameSize: number, decodeFec: number): number;
  opus_strerror(code: number): number;
}

/** The largest packet accepted, bytes (a 120 ms packet at 510 kbit/s is under 8 KiB). */
const MAX_PACKET = 8192;
/** Room for 120 ms at 48 kHz mono, the most one opus_decode returns. */
const MAX_SAMPLES = 5760;

/** WebAssembly SIMD probe (the same 29 bytes @evan/opus checks with). */
const SIMD_PROBE = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11);

interface Module {
  x: OpusExports;
  packetPtr: number;
  pcmPtr: number;
}

let loaded: Module | undefined;

function load(): Module {
  if (loaded) return loaded;
  const file = createRequire(import.meta.url).resolve(`@evan/opus/wasm/${WebAssembly.validate(SIMD_PROBE) ? 'simd' : 'opus'}.wasm`);
  const noop = () => 0;
  const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), {
    wasi_snapshot_preview1: { fd_seek: noop, fd_write: noop, fd_close: noop, proc_exit: noop },
    env: { emscripten_notify_memory_growth: noop }, // views are re-made from memory.buffer on each call
  });
  const x = instance.exports as unknown as OpusExports;
  loaded = { x, packetPtr: x.malloc(MAX_PACKET), pcmPtr: x.malloc(MAX_SAMPLES * 2) };
  return loaded;
}

function errorText(m: Module, code: number): string {
  const bytes = new Uint8Array(m.x.memory.buffer);
  let s = '';
  for (let at = m.x.opus_strerror(code); at < bytes.length && bytes[at] !== 0; at++) s += String.fromCharCode(bytes[at]!);
  return s;
}

const states = new FinalizationRegistry<number>((ptr) => loaded?.x.free(ptr));

/** One mono libopus decoder in WebAssembly: decode, FEC-decode, and PLC, Int16 out. */
export class WasmOpusDecoder {
  private readonly m: Module;
  private state: number;

  constructor(readonly sampleRate: number) {
    this.m = load();
    const { x } = this.m;
    this.state = x.malloc(x.opus_decoder_get_size(1));
    if (this.state === 0) throw new RangeError('no memory left for an Opus decoder (WebAssembly heap full)');
    const rc = x.opus_decoder_init(this.state, sampleRate, 1);
    if (rc < 0) {
      x.free(this.state);
      throw new TypeError(`Opus decoder rate ${sampleRate} refused: ${errorText(this.m, rc)}`);
    }
    states.register(this, this.state, this);
  }

  /**
   * opus_decode: `packet` undefined is a lost frame concealed (PLC); `fec` decodes the LBRR
   * data in `packet` for the frame before it (libopus conceals instead when there is none).
   * `frameSize` caps the samples returned; for PLC and FEC it is exactly what is made up.
   * Throws PARSE_ERROR when libopus refuses the packet, CLOSED after release().
   */
  decode(packet: Uint8Array | undefined, frameSize: number, fec = false): Int16Array {
    if (!this.state) throw new CallpeerError('CLOSED', 'Opus decoder released');
    const { x, packetPtr, pcmPtr } = this.m;
    if (packet && packet.length > MAX_PACKET) throw new CallpeerError('PARSE_ERROR', `Opus packet of ${packet.length} bytes exceeds ${MAX_PACKET} at offset 0`);
    if (packet) new Uint8Array(x.memory.buffer, packetPtr, packet.length).set(packet);
    const n = x.opus_decode(this.state, packet ? packetPtr : 0, packet?.length ?? 0, pcmPtr, Math.min(frameSize, MAX_SAMPLES), fec ? 1 : 0);
    if (n < 0) throw new CallpeerError('PARSE_ERROR', `Opus packet of ${packet?.length ?? 0} bytes does not decode: ${errorText(this.m, n)}`);
    return new Int16Array(x.memory.buffer, pcmPtr, n).slice();
  }

  get closed(): boolean {
    return this.state === 0;
  }

  release(): void {
    if (!this.state) return;
    states.unregister(this);
    this.m.x.free(this.state);
    this.state = 0;
  }
}
