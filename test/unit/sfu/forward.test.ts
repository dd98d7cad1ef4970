import { describe, expect, it } from 'vitest';
import { retargetRtp } from '../../../src/sfu/forward.js';

describe('retargetRtp', () => {
  it('rewrites SSRC and payload type, keeps marker, sequence, timestamp and payload byte for byte', () => {
    // V=2, marker set, PT 109, seq 0xfffe, ts 0x01020304, SSRC 0xaabbccdd, payload de ad
    const packet = Buffer.from('80ed fffe 01020304 aabbccdd dead'.replace(/ /g, ''), 'hex');
    retargetRtp(packet, 0x11223344, 111);
    expect(packet.toString('hex')).toBe('80effffe0102030411223344dead');
    const noMarker = Buffer.from('806d0001000000010000000000'.padEnd(28, '0'), 'hex');
    retargetRtp(noMarker, 0xffffffff, 111);
    expect(noMarker.subarray(0, 12).toString('hex')).toBe('806f000100000001ffffffff');
  });
});
