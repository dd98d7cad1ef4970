import { describe, expect, it } from 'vitest';
import { isCallpeerError } from '../../../src/errors.js';
import { isLoopbackHost, MAX_REMOTE_PEERS, peerCount, validateParams } from '../../../src/loadtest/params.js';

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return isCallpeerError(err) ? err.code : 'not a CallpeerError';
  }
  return undefined;
}

describe('validateParams', () => {
  it('fills the defaults: one room of two publishing peers, loopback bind for a local server', () => {
    const p = validateParams({ url: 'http://127.0.0.1:8080' });
    expect(p).toMatchObject({ mode: 'webrtc', rooms: 1, publishers: 2, subscribers: 0, audio: 'tone', rampPerSecond: 10, durationSeconds: 10, bindAddress: '127.0.0.1', thresholds: {} });
    expect(peerCount(p)).toBe(2);
  });

  it('keeps an ICE transport policy of all or relay and refuses any other', () => {
    expect(validateParams({ url: 'http://127.0.0.1:8080', iceTransportPolicy: 'relay' })).toMatchObject({ iceTransportPolicy: 'relay' });
    expect(validateParams({ url: 'http://127.0.0.1:8080' })).not.toHaveProperty('iceTransportPolicy');
    expect(code(() => validateParams({ url: 'http://127.0.0.1:8080', iceTransportPolicy: 'host' as 'relay' }))).toBe('INVALID_CONFIG');
  });

  it('takes --peers as publishers, and --publishers/--subscribers per room', () => {
    expect(peerCount(validateParams({ url: 'ws://localhost:1', rooms: 3, peers: 5 }))).toBe(15);
    expect(validateParams({ url: 'ws://localhost:1', publishers: 1, subscribers: 4 })).toMatchObject({ publishers: 1, subscribers: 4 });
    expect(code(() => validateParams({ url: 'ws://localhost:1', peers: 2, subscribers: 1 }))).toBe('INVALID_CONFIG');
  });

  it('refuses bad numbers, a lone peer, an unknown audio kind, a file without --audio file', () => {
    for (const bad of [{ rooms: 0 }, { peers: 1 }, { peers: 2.5 }, { rampPerSecond: 0 }, { durationSeconds: Number.NaN }, { audio: 'noise' as never }, { audioFile: 'a.wav' }, { thresholds: { maxLossPercent: -1 } }]) {
      expect(code(() => validateParams({ url: 'http://127.0.0.1:1', ...bad }))).toBe('INVALID_CONFIG');
    }
    expect(code(() => validateParams({ url: 'ftp://host' }))).toBe('INVALID_CONFIG');
    expect(code(() => validateParams({ url: 'http://127.0.0.1:1', mode: 'pcm', codec: 'mp3' as never }))).toBe('INVALID_CONFIG');
  });

  it(`refuses more than ${MAX_REMOTE_PEERS} peers against another host unless forced`, () => {
    expect(code(() => validateParams({ url: 'https://calls.example', rooms: 5, peers: 5 }))).toBe('INVALID_CONFIG');
    expect(code(() => validateParams({ url: 'https://calls.example', mode: 'pcm', pairs: 11 }))).toBe('INVALID_CONFIG');
    expect(code(() => validateParams({ url: 'https://calls.example', rooms: 4, peers: 5 }))).toBeUndefined();
    expect(code(() => validateParams({ url: 'https://calls.example', rooms: 5, peers: 5, force: true }))).toBeUndefined();
    expect(code(() => validateParams({ url: 'http://127.0.0.1:8080', rooms: 100, peers: 5 }))).toBeUndefined();
    expect(validateParams({ url: 'https://calls.example' })).not.toHaveProperty('bindAddress');
  });
});

describe('isLoopbackHost', () => {
  it('knows this machine from another', () => {
    expect(['http://localhost:1', 'ws://127.0.0.1', 'http://127.1.2.3:9', 'http://[::1]:8080'].map(isLoopbackHost)).toEqual([true, true, true, true]);
    expect(['http://10.0.0.1', 'https://calls.example', 'not a url', 'http://127.0.0.1.evil.example'].map(isLoopbackHost)).toEqual([false, false, false, false]);
  });
});
