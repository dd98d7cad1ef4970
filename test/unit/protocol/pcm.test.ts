import { describe, expect, it } from 'vitest';
import { CallpeerError } from '../../../src/errors.js';
import { parsePcmClientMessage, parsePcmParams, samplesPerFrame } from '../../../src/protocol/pcm.js';

const q = (s: string) => new URLSearchParams(s);

describe('pcm protocol', () => {
  it('defaults to pcm at 48 kHz', () => {
    expect(parsePcmParams(q(''))).toEqual({ codec: 'pcm', rate: 48000 });
  });

  it('reads codec, rate, pair and token', () => {
    expect(parsePcmParams(q('codec=opus&rate=16000&pair=abc_1&token=t'))).toEqual({ codec: 'opus', rate: 16000, pair: 'abc_1', token: 't' });
  });

  it.each(['codec=mp3', 'rate=44100', 'rate=abc', 'pair=a%20b', 'pair='])('refuses %s with INVALID_MESSAGE', (s) => {
    try {
      parsePcmParams(q(s));
      expect.unreachable();
    } catch (err) {
      expect((err as CallpeerError).code).toBe('INVALID_MESSAGE');
    }
  });

  it('parses mute and refuses anything else', () => {
    expect(parsePcmClientMessage('{"type":"mute","muted":true}')).toEqual({ type: 'mute', muted: true });
    for (const bad of ['{"type":"mute"}', '{"type":"mute","muted":"yes"}', '{"type":"hello"}', 'x']) {
      expect(() => parsePcmClientMessage(bad)).toThrow(CallpeerError);
    }
  });

  it('knows the samples in a 20 ms frame', () => {
    expect(samplesPerFrame(48000)).toBe(960);
    expect(samplesPerFrame(8000)).toBe(160);
  });
});
