import { describe, expect, it } from 'vitest';
import { ivfFrameHeader, ivfHeader } from '../../../src/media/ivf.js';

describe('IVF', () => {
  it('header and frame header are byte-exact', () => {
    expect(ivfHeader({ width: 320, height: 240, rate: 90000, scale: 1, frames: 30 }).toString('hex')).toBe(
      '444b4946' + '0000' + '2000' + '56503830' + '4001' + 'f000' + '905f0100' + '01000000' + '1e000000' + '00000000',
      // DKIF     version  size   VP80       320     240      90000        1           30 frames    unused
    );
    expect(ivfFrameHeader(1234, 90000 * 3).toString('hex')).toBe('d2040000' + 'b01e040000000000');
  });
});
