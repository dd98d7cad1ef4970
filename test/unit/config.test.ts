import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServeConfig, mediaSettingsOf, parseIceServerUrl } from '../../src/config.js';
import { CallpeerError } from '../../src/errors.js';

function code(fn: () => unknown): string | undefined {
  try { fn(); } catch (err) { return (err as CallpeerError).code; }
  return undefined;
}
const empty = mkdtempSync(path.join(tmpdir(), 'callpeer-cfg-'));

describe('serve config', () => {
  it('media settings: flags and environment, told to members as joined.room.media; bad values say how to fix them', () => {
    expect(mediaSettingsOf(loadServeConfig({}, {}, empty))).toEqual({ videoCodecs: ['VP8', 'H264'], simulcast: true });
    const env = { CALLPEER_MAX_VIDEO_BITRATE: '800', CALLPEER_MAX_RESOLUTION: '1280x720', CALLPEER_SIMULCAST: 'off', CALLPEER_AUDIO_BITRATE: '24' };
    const c = loadServeConfig({ maxFramerate: '15' as unknown as number, maxResolution: '640 x 360' }, env, empty);
    expect(mediaSettingsOf(c)).toEqual({
      videoCodecs: ['VP8', 'H264'], simulcast: false, maxVideoBitrateKbps: 800, maxResolution: { width: 640, height: 360 }, maxFramerate: 15, audioBitrateKbps: 24,
    });
    expect(loadServeConfig({ simulcast: 'on' }, { CALLPEER_SIMULCAST: 'off' }, empty).simulcast).toBe(true);
    const message = (flags: object) => { try { loadServeConfig(flags, {}, empty); } catch (err) { return `${(err as CallpeerError).code}: ${(err as Error).message} / ${(err as CallpeerError).hint}`; } return 'no error'; };
    expect(message({ simulcast: 'maybe' })).toBe('INVALID_CONFIG: --simulcast (CALLPEER_SIMULCAST) must be on or off (got "maybe") / use on or off');
    expect(message({ maxResolution: '720p' })).toMatch(/^INVALID_CONFIG: --max-resolution \(CALLPEER_MAX_RESOLUTION\) must be WxH \(got "720p"\) \/ give width x height in pixels, e\.g\. 1280x720$/);
    expect(message({ maxResolution: '8000x10' })).toMatch(/--max-resolution width must be a whole number from 16 to 7680 \(got 8000\)/);
    expect(message({ maxVideoBitrateKbps: '10' })).toMatch(/--max-video-bitrate \(CALLPEER_MAX_VIDEO_BITRATE\) must be a whole number from 50 to 50000 \(got 10\)/);
    expect(message({ maxFramerate: '0' })).toMatch(/--max-framerate .* from 1 to 120/);
    expect(message({ audioBitrateKbps: '600' })).toMatch(/--audio-bitrate .* from 6 to 510.*Opus takes 6 to 510/);
  });

  it('connection limits: per-address limit and headers timeout (seconds) from env or flags; 0 lifts the limit; bad values say how to fix them', () => {
    expect(loadServeConfig({}, {}, empty)).toMatchObject({ maxConnectionsPerIp: 200, headersTimeoutMs: 10_000 });
    const c = loadServeConfig({ headersTimeout: '3' as unknown as number }, { CALLPEER_MAX_CONNECTIONS_PER_IP: '0', CALLPEER_HEADERS_TIMEOUT: '30' }, empty);
    expect(c).toMatchObject({ maxConnectionsPerIp: 0, headersTimeoutMs: 3000 });
    expect(() => loadServeConfig({ maxConnectionsPerIp: -1 }, {}, empty)).toThrow(/--max-connections-per-ip \(CALLPEER_MAX_CONNECTIONS_PER_IP\) must be a whole number from 0/);
    expect(() => loadServeConfig({}, { CALLPEER_HEADERS_TIMEOUT: 'soon' }, empty)).toThrow(/--headers-timeout \(CALLPEER_HEADERS_TIMEOUT\) must be a whole number from 1 to 600 \(got soon\)/);
  });

  it('has documented defaults and is frozen', () => {
    const c = loadServeConfig({}, {}, empty);
    expect(c).toMatchObject({ port: 8080, host: '0.0.0.0', maxMembers: 8, iceServers: [], allowedOrigins: [], logLevel: 'info', maxFrameBytes: 65536 });
    expect(c.cert).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('environment overrides defaults and flags override the environment', () => {
    const env = { CALLPEER_PORT: '9000', CALLPEER_MAX_MEMBERS: '4', CALLPEER_ICE_SERVER: 'stun:a:3478, stun:b:3478', CALLPEER_ALLOWED_ORIGIN: 'https://x.example/' };
    const c = loadServeConfig({ port: 9100 }, env, empty);
    expect(c.port).toBe(9100);
    expect(c.maxMembers).toBe(4);
    expect(c.iceServers).toEqual([{ urls: 'stun:a:3478' }, { urls: 'stun:b:3478' }]);
    expect(c.allowedOrigins).toEqual(['https://x.example']);
  });

  it('picks up certs/cert.pem and certs/key.pem when both exist', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-cfg-'));
    mkdirSync(path.join(dir, 'certs'));
    writeFileSync(path.join(dir, 'certs', 'cert.pem'), 'x');
    writeFileSync(path.join(dir, 'certs', 'key.pem'), 'y');
    expect(loadServeConfig({}, {}, dir).cert).toBe(path.join(dir, 'certs', 'cert.pem'));
  });

  it.each([
    [{ port: 70000 }], [{ port: 'abc' as unknown as number }], [{ maxMembers: 0 }], [{ logLevel: 'loud' as 'info' }],
    [{ cert: '/nonexistent.pem', key: '/nonexistent.key' }], [{ cert: '/x.pem' }], [{ iceServer: ['http://x'] }],
    [{ iceServer: ['turn:host:3478'] }], [{ allowedOrigin: ['not an origin'] }],
    [{ topology: 'star' as 'sfu' }], [{ rtcBind: 'localhost' }],
  ])('refuses %j with INVALID_CONFIG', (flags) => {
    expect(code(() => loadServeConfig(flags, {}, empty))).toBe('INVALID_CONFIG');
  });

  it('takes the topology and the SFU bind address from env or flags (flags win)', () => {
    const env = { CALLPEER_TOPOLOGY: 'sfu', CALLPEER_RTC_BIND: '127.0.0.1' };
    expect(loadServeConfig({}, env, empty)).toMatchObject({ topology: 'sfu', rtcBind: '127.0.0.1' });
    expect(loadServeConfig({ topology: 'mesh' }, env, empty).topology).toBe('mesh');
    expect(loadServeConfig({}, {}, empty).topology).toBe('mesh');
    expect(() => loadServeConfig({}, { CALLPEER_TOPOLOGY: 'star' }, empty)).toThrow(/CALLPEER_TOPOLOGY/);
  });

  it('takes the SFU video codecs from env or flags: h264 alone is allowed, unknown names and an empty list are refused', () => {
    expect(loadServeConfig({}, {}, empty).videoCodecs).toEqual(['VP8', 'H264']);
    expect(loadServeConfig({}, { CALLPEER_VIDEO_CODECS: 'vp8' }, empty).videoCodecs).toEqual(['VP8']);
    expect(loadServeConfig({ videoCodecs: ['h264,VP8'] }, { CALLPEER_VIDEO_CODECS: 'vp8' }, empty).videoCodecs).toEqual(['H264', 'VP8']);
    expect(() => loadServeConfig({ videoCodecs: ['vp9'] }, {}, empty)).toThrow(/knows vp8 and h264 \(got "vp9"\)/);
    expect(loadServeConfig({}, { CALLPEER_VIDEO_CODECS: 'h264' }, empty).videoCodecs).toEqual(['H264']);
    expect(() => loadServeConfig({ videoCodecs: [' , '] }, {}, empty)).toThrow(/names no codec/);
  });

  it('reads auth, TURN and host settings from env or flags', () => {
    const env = {
      CALLPEER_AUTH_SECRET: 's'.repeat(32), CALLPEER_ALLOW_GUESTS: '1', CALLPEER_OPEN_API: 'false', CALLPEER_TURN_URL: 'turn:127.0.0.1:3478',
      CALLPEER_TURN_SECRET: 't', CALLPEER_TURN_TTL: '600', CALLPEER_ALLOWED_HOST: 'Call.Example.com, b.example', CALLPEER_TRUST_PROXY: 'yes',
    };
    expect(loadServeConfig({}, env, empty)).toMatchObject({
      authSecret: 's'.repeat(32), allowGuests: true, openApi: false, turnUrl: 'turn:127.0.0.1:3478', turnSecret: 't', turnTtlSeconds: 600,
      allowedHosts: ['call.example.com', 'b.example'], trustProxy: true,
    });
    expect(loadServeConfig({}, {}, empty)).toMatchObject({ allowGuests: false, openApi: false, turnTtlSeconds: 3600, rtcRelayOnly: false, allowedHosts: [], trustProxy: false });
  });

  it.each([
    ['a short auth secret', { authSecret: 'short' }],
    ['both a secret and a public key', { authSecret: 's'.repeat(32), authPublicKey: '/etc/hostname' }],
    ['an unreadable public key', { authPublicKey: '/nonexistent/key.pem' }],
    ['guests without auth', { allowGuests: true }],
    ['a TURN URL without its secret', { turnUrl: 'turn:127.0.0.1:3478' }],
    ['a TURN secret without its URL', { turnSecret: 'x' }],
    ['a TURN URL that is not one', { turnUrl: 'stun:127.0.0.1:3478', turnSecret: 'x' }],
    ['a TURN TTL under a minute', { turnUrl: 'turn:h:1', turnSecret: 'x', turnTtlSeconds: 5 }],
    ['relay-only without TURN', { rtcRelayOnly: true }],
  ])('refuses %s with INVALID_CONFIG', (_name, flags) => {
    expect(code(() => loadServeConfig(flags as never, {}, empty))).toBe('INVALID_CONFIG');
  });

  it('parses TURN URLs with credentials', () => {
    expect(parseIceServerUrl('turns:bob:p%40ss@turn.example:5349?transport=tcp')).toEqual({ urls: 'turns:turn.example:5349?transport=tcp', username: 'bob', credential: 'p@ss' });
  });
});
