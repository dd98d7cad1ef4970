import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ivfFrameHeader, ivfHeader, parseIvf } from '../../../src/media/ivf.js';
import { vp8KeyframeSize } from '../../../src/media/vp8.js';

describe('IVF', () => {
  it('header and frame header are byte-exact', () => {
    expect(ivfHeader({ width: 320, height: 240, rate: 90000, scale: 1, frames: 30 }).toString('hex')).toBe(
      '444b4946' + '0000' + '2000' + '56503830' + '4001' + 'f000' + '905f0100' + '01000000' + '1e000000' + '00000000',
      // DKIF     version  size   VP80       320     240      90000        1           30 frames    unused
    );
    expect(ivfFrameHeader(1234, 90000 * 3).toString('hex')).toBe('d2040000' + 'b01e040000000000');
  });

  it('parses what it writes, and refuses a cut-short file with PARSE_ERROR', () => {
    const file = Buffer.concat([
      ivfHeader({ width: 2, height: 3, rate: 90000, scale: 1, frames: 2 }),
      ivfFrameHeader(2, 0), Buffer.from([1, 2]), ivfFrameHeader(1, 6000), Buffer.from([9]),
    ]);
    const parsed = parseIvf(file);
    expect(parsed).toMatchObject({ fourcc: 'VP80', width: 2, height: 3, rate: 90000, scale: 1 });
    expect(parsed.frames.map((f) => [f.pts, [...f.data]])).toEqual([[0, [1, 2]], [6000, [9]]]);
    expect(() => parseIvf(file.subarray(0, file.length - 1))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
    expect(() => parseIvf(Buffer.from('RIFF0000000000000000000000000000'))).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
  });

  it('reads the libvpx fixtures: 30 frames each, key frames every 15 at the file size', () => {
    for (const [w, h] of [[160, 90], [320, 180], [640, 360]]) {
      const f = parseIvf(readFileSync(new URL(`../../fixtures/media/vp8/${w}x${h}.ivf`, import.meta.url)));
      expect(f).toMatchObject({ fourcc: 'VP80', width: w, height: h });
      expect(f.frames).toHaveLength(30);
      const keys = f.frames.flatMap((fr, i) => (vp8KeyframeSize(fr.data) ? [i] : []));
      expect(keys).toEqual([0, 15]);
      expect(vp8KeyframeSize(f.frames[0]!.data)).toEqual({ width: w, height: h });
    }
  });
});
