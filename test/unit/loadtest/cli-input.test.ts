import { describe, expect, it } from 'vitest';
import { loadtestInput } from '../../../src/cli/loadtest.js';
import { isCallpeerError } from '../../../src/errors.js';

const URL = 'http://127.0.0.1:8080';

function refusal(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return isCallpeerError(err) ? err.code : 'not a CallpeerError';
  }
  return undefined;
}

describe('loadtest flags', () => {
  it('map onto the typed input, numbers as numbers, thresholds grouped', () => {
    expect(loadtestInput(URL, { mode: 'webrtc', rooms: '3', peers: '5', ramp: '20', maxLoss: '1', logLevel: 'error' })).toMatchObject({
      mode: 'webrtc', url: URL, rooms: 3, peers: 5, rampPerSecond: 20, thresholds: { maxLossPercent: 1, maxSetupP95Ms: undefined }, force: false,
    });
    expect(loadtestInput(URL, { mode: 'pcm', pairs: '10', codec: 'opus', logLevel: 'error' })).toMatchObject({ mode: 'pcm', pairs: 10, codec: 'opus' });
  });

  it('pass --ice-transport-policy on as the peers\' policy, refuse anything but all/relay, and refuse it in PCM mode', () => {
    expect(loadtestInput(URL, { mode: 'webrtc', iceTransportPolicy: 'relay', logLevel: 'error' })).toMatchObject({ iceTransportPolicy: 'relay' });
    expect(loadtestInput(URL, { mode: 'webrtc', logLevel: 'error' })).not.toHaveProperty('iceTransportPolicy');
    expect(refusal(() => loadtestInput(URL, { mode: 'webrtc', iceTransportPolicy: 'turn', logLevel: 'error' }))).toBe('INVALID_CONFIG');
    expect(refusal(() => loadtestInput(URL, { mode: 'pcm', iceTransportPolicy: 'relay', logLevel: 'error' }))).toBe('INVALID_CONFIG');
  });

  it('refuse flags of the other mode and an unknown mode', () => {
    expect(refusal(() => loadtestInput(URL, { mode: 'pcm', rooms: '2', logLevel: 'error' }))).toBe('INVALID_CONFIG');
    expect(refusal(() => loadtestInput(URL, { mode: 'webrtc', pairs: '2', logLevel: 'error' }))).toBe('INVALID_CONFIG');
    expect(refusal(() => loadtestInput(URL, { mode: 'sfu', logLevel: 'error' }))).toBe('INVALID_CONFIG');
  });

  it('--video goes on as `video: true` in WebRTC mode and is refused with --mode pcm', () => {
    expect(loadtestInput(URL, { mode: 'webrtc', video: true, logLevel: 'error' })).toMatchObject({ video: true });
    expect(loadtestInput(URL, { mode: 'webrtc', logLevel: 'error' })).not.toHaveProperty('video');
    expect(refusal(() => loadtestInput(URL, { mode: 'pcm', video: true, logLevel: 'error' }))).toBe('INVALID_CONFIG');
  });
});
