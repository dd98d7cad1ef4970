import { describe, expect, it } from 'vitest';
import { CallpeerError } from '../../../src/errors.js';
import { parsePcmClientMessage, parsePcmParams, parsePcmServerMessage, samplesPerFrame } from '../../../src/protocol/pcm.js';

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

describe('pcm server messages', () => {
  const codeOf = (text: string) => {
    try {
      parsePcmServerMessage(text);
    } catch (err) {
      return (err as CallpeerError).code;
    }
    return undefined;
  };

  it('reads each message type', () => {
    expect(parsePcmServerMessage('{"type":"waiting"}')).toEqual({ type: 'waiting' });
    expect(parsePcmServerMessage('{"type":"disconnected"}')).toEqual({ type: 'disconnected' });
    expect(parsePcmServerMessage('{"type":"connected","codec":"opus","sampleRate":16000,"channels":1,"frameMs":20}'))
      .toEqual({ type: 'connected', codec: 'opus', sampleRate: 16000, channels: 1, frameMs: 20 });
    expect(parsePcmServerMessage('{"type":"peer-muted","muted":false}')).toEqual({ type: 'peer-muted', muted: false });
    expect(parsePcmServerMessage('{"type":"error","code":"PAIR_FULL","message":"taken"}')).toEqual({ type: 'error', code: 'PAIR_FULL', message: 'taken' });
  });

  it('keeps only the fields of the message', () => {
    expect(parsePcmServerMessage('{"type":"waiting","extra":{"deep":1}}')).toEqual({ type: 'waiting' });
  });

  it.each([
    ['not JSON', 'x'],
    ['JSON null', 'null'],
    ['an array', '[{"type":"waiting"}]'],
    ['a string', '"waiting"'],
    ['no type', '{}'],
    ['a type that is not a string', '{"type":1}'],
    ['an unknown type', '{"type":"surprise"}'],
    ['connected without fields', '{"type":"connected"}'],
    ['connected with an unknown codec', '{"type":"connected","codec":"mp3","sampleRate":16000,"channels":1,"frameMs":20}'],
    ['connected with a rate not in the protocol', '{"type":"connected","codec":"pcm","sampleRate":44100,"channels":1,"frameMs":20}'],
    ['connected with a rate as text', '{"type":"connected","codec":"pcm","sampleRate":"16000","channels":1,"frameMs":20}'],
    ['connected in stereo', '{"type":"connected","codec":"pcm","sampleRate":16000,"channels":2,"frameMs":20}'],
    ['connected with 10 ms frames', '{"type":"connected","codec":"pcm","sampleRate":16000,"channels":1,"frameMs":10}'],
    ['peer-muted without muted', '{"type":"peer-muted"}'],
    ['peer-muted with a string', '{"type":"peer-muted","muted":"yes"}'],
    ['error without code', '{"type":"error","message":"m"}'],
    ['error with a numeric code', '{"type":"error","code":7,"message":"m"}'],
    ['error with a code outside the protocol', '{"type":"error","code":"PARSE_ERROR","message":"m"}'],
    ['error without message', '{"type":"error","code":"PAIR_FULL"}'],
  ])('refuses %s with INVALID_MESSAGE', (_what, text) => {
    expect(codeOf(text)).toBe('INVALID_MESSAGE');
  });
});
