import { describe, expect, it } from 'vitest';
import { readClosePayload, readRelayFrame, RelayKind, writeClosePayload, writeRelayFrame } from '../../../src/cluster/pcm-frame.js';

const PARSE_ERROR = expect.objectContaining({ name: 'CallpeerError', code: 'PARSE_ERROR' });

describe('relay frames', () => {
  it('an audio frame: kind, link length, link, payload, byte for byte both ways', () => {
    const frame = writeRelayFrame(RelayKind.upAudio, 'n1/p7', Buffer.from([0x01, 0x00, 0xff, 0x7f]));
    expect(frame.toString('hex')).toBe(
      '01' // kind: up-audio
      + '05' // link: 5 bytes
      + '6e312f7037' // "n1/p7"
      + '0100ff7f', // payload: two Int16 LE samples
    );
    const read = readRelayFrame(frame);
    expect(read).toMatchObject({ kind: RelayKind.upAudio, link: 'n1/p7' });
    expect(read.payload.toString('hex')).toBe('0100ff7f');
    expect(writeRelayFrame(read.kind, read.link, read.payload).equals(frame)).toBe(true);
  });

  it('frames without payload, and a close with its code and reason', () => {
    expect(writeRelayFrame(RelayKind.upLeft, 'a/b').toString('hex')).toBe('0303612f62');
    expect(readRelayFrame(Buffer.from('0703612f62', 'hex'))).toMatchObject({ kind: RelayKind.downReleased, link: 'a/b' });
    const close = writeClosePayload(1008, 'too many bad frames');
    expect(close.subarray(0, 2).toString('hex')).toBe('03f0');
    expect(readClosePayload(readRelayFrame(writeRelayFrame(RelayKind.downClose, 'a/b', close)).payload)).toEqual({ code: 1008, reason: 'too many bad frames' });
  });

  it('a truncated frame, an empty link or an unknown kind is a PARSE_ERROR', () => {
    expect(() => readRelayFrame(Buffer.from([1]))).toThrow(PARSE_ERROR);
    expect(() => readRelayFrame(Buffer.from('0105612f', 'hex'))).toThrow(PARSE_ERROR); // link says 5, 2 left
    expect(() => readRelayFrame(Buffer.from('0100', 'hex'))).toThrow(PARSE_ERROR);
    expect(() => readRelayFrame(Buffer.from('0901612f62', 'hex'))).toThrow(PARSE_ERROR);
    expect(() => readClosePayload(Buffer.from([3]))).toThrow(PARSE_ERROR);
    expect(() => writeRelayFrame(RelayKind.upAudio, '')).toThrow(TypeError);
  });
});
