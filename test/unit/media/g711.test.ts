import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MULAW_DECODE_TABLE, mulawDecode, mulawDecodeSample, mulawEncode, mulawEncodeSample } from '../../../src/media/g711.js';
import { has, run, skipNote, tempDir } from '../../helpers/tools.js';

describe('G.711 µ-law', () => {
  it('decodes the standard table entries: full scale, the zeros, segment starts', () => {
    // ITU-T G.711 µ-law, on the 16-bit scale (the reference's 14-bit values x 4).
    const known: [number, number][] = [
      [0x00, -32124], [0x80, 32124], [0x7f, 0], [0xff, 0], [0x7e, -8], [0xfe, 8],
      [0x0f, -16764], [0x8f, 16764], [0x10, -15996], [0x70, -120], [0xf0, 120], [0x6f, -132], [0xef, 132],
    ];
    for (const [byte, value] of known) expect([byte, mulawDecodeSample(byte)]).toEqual([byte, value]);
    // Odd symmetric: byte b and b ^ 0x80 are the same magnitude of opposite sign.
    for (let b = 0; b < 128; b++) expect(MULAW_DECODE_TABLE[b]! + MULAW_DECODE_TABLE[b ^ 0x80]!).toBe(0);
  });

  it('encodes boundary samples to the codes the reference gives', () => {
    const cases: [number, number][] = [
      // G.191: magnitude (one's complement for negatives) >> 2, + 33, so -1..-4 code as negative zero.
      [0, 0xff], [1, 0xff], [3, 0xff], [4, 0xfe], [11, 0xfe], [12, 0xfd], [-1, 0x7f], [-4, 0x7f], [-5, 0x7e], [-12, 0x7e], [-13, 0x7d],
      [32767, 0x80], [-32768, 0x00], [32124, 0x80], [-32124, 0x00], [-31612, 0x01], [-31613, 0x00], [31611, 0x81], [31612, 0x80],
    ];
    for (const [sample, byte] of cases) expect([sample, mulawEncodeSample(sample)]).toEqual([sample, byte]);
  });

  it('every code decodes to a value that encodes back to itself, but negative zero (0x7f) to positive zero (0xff)', () => {
    for (let b = 0; b < 256; b++) expect([b, mulawEncodeSample(mulawDecodeSample(b))]).toEqual([b, b === 0x7f ? 0xff : b]);
  });

  it('every sample decodes back within half a step of its segment (the quantizer is monotonic and centred)', () => {
    let previous = -Infinity;
    for (let x = -32768; x <= 32767; x++) {
      const y = mulawDecodeSample(mulawEncodeSample(x));
      expect(y).toBeGreaterThanOrEqual(previous);
      previous = y;
      const magnitude = Math.min(Math.abs(x), 32124);
      const step = 8 << Math.max(0, Math.floor(Math.log2((magnitude + 132) / 256)) + 1) >> 1;
      if (Math.abs(x) <= 32124) expect(Math.abs(y - x)).toBeLessThanOrEqual(step);
    }
  });

  it('buffer forms fill the given arrays', () => {
    const out = new Uint8Array(3);
    expect(mulawEncode(new Int16Array([0, 32767, -32768]), out)).toBe(out);
    expect([...out]).toEqual([0xff, 0x80, 0x00]);
    const pcm = new Int16Array(2);
    expect(mulawDecode(new Uint8Array([0x80, 0x00]), pcm)).toBe(pcm);
    expect([...pcm]).toEqual([32124, -32124]);
  });

  describe(`against sox${skipNote(['sox'], 'sox')}`, () => {
    it.skipIf(!has('sox'))('encodes every one of the 65,536 samples to the byte sox writes, and decodes every byte as sox does', () => {
      const dir = tempDir();
      const all = new Int16Array(65536);
      for (let i = 0; i < all.length; i++) all[i] = i - 32768;
      writeFileSync(path.join(dir, 'all.s16'), Buffer.from(all.buffer));
      // -D: sox dithers by default when it reduces precision, which would add noise before coding.
      run('sox', ['-D', '-t', 'raw', '-r', '8000', '-e', 'signed', '-b', '16', '-c', '1', '-L', path.join(dir, 'all.s16'), '-t', 'raw', '-e', 'mu-law', '-b', '8', path.join(dir, 'all.ul')]);
      const soxBytes = readFileSync(path.join(dir, 'all.ul'));
      expect(soxBytes.length).toBe(65536);
      // sox rounds to the nearest 14-bit value where G.191 truncates (its one's complement for
      // negatives): the codes agree everywhere but within one 14-bit step (4) of a decision
      // level, and there they are neighbours.
      const ours = mulawEncode(all);
      const levels = [...new Set(MULAW_DECODE_TABLE)].sort((x, y) => x - y);
      let differing = 0;
      for (let i = 0; i < all.length; i++) {
        if (ours[i] === soxBytes[i]) continue;
        differing++;
        const [a, b] = [mulawDecodeSample(ours[i]!), mulawDecodeSample(soxBytes[i]!)];
        const near = [-8, -4, 4, 8].some((d) => mulawEncodeSample(all[i]! + d) !== ours[i]);
        // Neighbouring levels (or the two zeros, 0x7f and 0xff, which decode alike).
        if (!near || Math.abs(levels.indexOf(a) - levels.indexOf(b)) > 1) expect.fail(`sample ${all[i]}: ours ${ours[i]}, sox ${soxBytes[i]}`);
      }
      expect(differing).toBeLessThan(1024); // 510 with sox 14.4.2: 2 per decision level, negative side

      writeFileSync(path.join(dir, 'codes.ul'), Uint8Array.from({ length: 256 }, (_, b) => b));
      run('sox', ['-t', 'raw', '-r', '8000', '-e', 'mu-law', '-b', '8', '-c', '1', path.join(dir, 'codes.ul'), '-t', 'raw', '-e', 'signed', '-b', '16', '-L', path.join(dir, 'codes.s16')]);
      const decoded = readFileSync(path.join(dir, 'codes.s16'));
      expect(Array.from({ length: 256 }, (_, b) => decoded.readInt16LE(2 * b))).toEqual([...MULAW_DECODE_TABLE]);
    });
  });
});
