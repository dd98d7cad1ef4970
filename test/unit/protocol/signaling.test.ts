import { describe, expect, it } from 'vitest';
import { CallpeerError } from '../../../src/errors.js';
import { CLIENT_MESSAGE_TYPES, SERVER_MESSAGE_TYPES, parseClientMessage, parseServerMessage } from '../../../src/protocol/signaling.js';

const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CallpeerError);
    return (err as CallpeerError).code;
  }
  return undefined;
}

const validClient: Record<string, unknown[]> = {
  join: [{ room: 'a' }, { room: 'A_b-9', name: 'Ada', token: 't', role: 'recorder', audio: true, video: false, metadata: { x: 1 }, autoSubscribe: false }],
  offer: [{ to: 'p1', sdp: SDP }, { sdp: SDP }],
  answer: [{ to: 'p1', sdp: SDP }],
  candidate: [{ to: 'p1', candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', mid: '0' }, { candidate: '', mid: 'audio' }],
  media: [{}, { audio: true, video: false, screen: true }],
  chat: [{ text: 'hi' }, { text: 'x'.repeat(4096) }],
  leave: [{}],
  ping: [{}, { id: 5 }, { id: 'abc' }],
  subscribe: [{ publisher: 'p', track: 't' }],
  unsubscribe: [{ publisher: 'p', track: 't' }],
  layer: [{ track: 't', quality: 'medium' }, { track: 't', quality: 'auto' }],
  stats: [{ peer: 'p1', packetLoss: 0, jitterMs: 3.5, rttMs: 40, bitrateKbps: 32 }, { peer: 'p1', packetLoss: 100, jitterMs: 60000, rttMs: 0, bitrateKbps: 1000000, framesPerSecond: 30 }],
};

const invalidClient: Record<string, [unknown, string][]> = {
  join: [[{}, 'INVALID_MESSAGE'], [{ room: '' }, 'INVALID_MESSAGE'], [{ room: 'a b' }, 'INVALID_MESSAGE'], [{ room: 'x'.repeat(65) }, 'INVALID_MESSAGE'],
    [{ room: 'a', role: 'admin' }, 'INVALID_MESSAGE'], [{ room: 'a', audio: 'yes' }, 'INVALID_MESSAGE'], [{ room: 'a', metadata: [1] }, 'INVALID_MESSAGE'],
    [{ room: 'a', metadata: { big: 'x'.repeat(5000) } }, 'INVALID_MESSAGE'], [{ room: 'a', name: 'n'.repeat(65) }, 'INVALID_MESSAGE'],
    [{ room: 'a', autoSubscribe: 'no' }, 'INVALID_MESSAGE']],
  offer: [[{ to: 'p' }, 'INVALID_MESSAGE'], [{ to: 'p', sdp: 'hello' }, 'INVALID_SDP'], [{ to: 5, sdp: SDP }, 'INVALID_MESSAGE']],
  answer: [[{ to: 'p', sdp: 7 }, 'INVALID_MESSAGE'], [{ to: 'p', sdp: '' }, 'INVALID_SDP']],
  candidate: [[{ candidate: 'c' }, 'INVALID_MESSAGE'], [{ candidate: 1, mid: '0' }, 'INVALID_MESSAGE'], [{ mid: '0' }, 'INVALID_MESSAGE']],
  media: [[{ audio: 1 }, 'INVALID_MESSAGE']],
  chat: [[{}, 'INVALID_MESSAGE'], [{ text: '' }, 'INVALID_MESSAGE'], [{ text: 'x'.repeat(4097) }, 'INVALID_MESSAGE']],
  ping: [[{ id: {} }, 'INVALID_MESSAGE'], [{ id: 'x'.repeat(200) }, 'INVALID_MESSAGE']],
  subscribe: [[{ publisher: 'p' }, 'INVALID_MESSAGE']],
  unsubscribe: [[{ track: 't' }, 'INVALID_MESSAGE']],
  layer: [[{ track: 't', quality: 'ultra' }, 'INVALID_MESSAGE']],
  stats: [
    [{ packetLoss: 1, jitterMs: 1, rttMs: 1, bitrateKbps: 1 }, 'INVALID_MESSAGE'],
    [{ peer: 'p', packetLoss: -1, jitterMs: 1, rttMs: 1, bitrateKbps: 1 }, 'INVALID_MESSAGE'],
    [{ peer: 'p', packetLoss: 101, jitterMs: 1, rttMs: 1, bitrateKbps: 1 }, 'INVALID_MESSAGE'],
    [{ peer: 'p', packetLoss: 'NaN', jitterMs: 1, rttMs: 1, bitrateKbps: 1 }, 'INVALID_MESSAGE'],
    [{ peer: 'p', packetLoss: 1, jitterMs: 1e9, rttMs: 1, bitrateKbps: 1 }, 'INVALID_MESSAGE'],
    [{ peer: 'p', packetLoss: 1, jitterMs: 1, rttMs: 1, bitrateKbps: 2e6 }, 'INVALID_MESSAGE'],
    [{ peer: 'p', packetLoss: 1, jitterMs: 1, rttMs: 1, bitrateKbps: 1, framesPerSecond: -3 }, 'INVALID_MESSAGE'],
    [{ peer: 'p', packetLoss: 1, jitterMs: 1, bitrateKbps: 1 }, 'INVALID_MESSAGE'],
  ],
};

describe('client messages', () => {
  it('covers every client message type in the tables', () => {
    expect(Object.keys(validClient).sort()).toEqual([...CLIENT_MESSAGE_TYPES].sort());
  });

  for (const type of CLIENT_MESSAGE_TYPES) {
    it(`accepts valid "${type}" messages`, () => {
      for (const fields of validClient[type]!) {
        const msg = parseClientMessage(JSON.stringify({ type, ...(fields as object) }));
        expect(msg).toEqual({ type, ...(fields as object) });
      }
    });
  }

  for (const [type, cases] of Object.entries(invalidClient)) {
    it(`refuses invalid "${type}" messages with the right code`, () => {
      for (const [fields, code] of cases) {
        expect(codeOf(() => parseClientMessage(JSON.stringify({ type, ...(fields as object) }))), JSON.stringify(fields)).toBe(code);
      }
    });
  }

  it('drops unknown fields so relays carry only the protocol', () => {
    expect(parseClientMessage(JSON.stringify({ type: 'leave', evil: true }))).toEqual({ type: 'leave' });
  });

  it('refuses frames that are not a JSON object with a string type', () => {
    for (const text of ['', 'nope', '[]', 'null', '42', '{}', '{"type":5}', '{"type":"nope"}']) {
      expect(codeOf(() => parseClientMessage(text)), text).toBe('INVALID_MESSAGE');
    }
  });

  it('names the offending type in ref', () => {
    try {
      parseClientMessage('{"type":"chat","text":5}');
    } catch (err) {
      expect((err as CallpeerError).ref).toBe('chat');
    }
    expect.assertions(1);
  });
});

const participant = { id: 'p1', name: 'Ada', role: 'participant', audio: true, video: false, screen: false, metadata: {} };
const validServer: Record<string, unknown> = {
  joined: { id: 'me', room: { id: 'r', topology: 'mesh', maxMembers: 8, media: { videoCodecs: ['VP8'], simulcast: false, maxVideoBitrateKbps: 800, maxResolution: { width: 640, height: 360 }, maxFramerate: 15, audioBitrateKbps: 24 } }, participants: [participant], iceServers: [{ urls: 'stun:x:3478' }, { urls: ['turn:y'], username: 'u', credential: 'c' }] },
  'peer-joined': { participant },
  'peer-left': { id: 'p1' },
  'peer-updated': { participant },
  offer: { from: 'p1', sdp: SDP },
  answer: { from: 'p1', sdp: SDP },
  candidate: { from: 'p1', candidate: '', mid: '0' },
  chat: { from: 'p1', name: 'Ada', text: 'hi', ts: 1700000000000 },
  quality: { id: 'p1', score: 90, packetLoss: 0.5, jitterMs: 3, rttMs: 20, bitrateKbps: 32, warnings: [] },
  pong: { id: 3 },
  error: { code: 'ROOM_FULL', message: 'full', ref: 'join' },
  'room-closed': { reason: 'deleted' },
  kicked: { reason: 'spam' },
  'muted-by-server': { audio: false },
  tracks: { tracks: [
    { id: 'p1-microphone', publisher: 'p1', kind: 'audio', source: 'microphone', codec: 'opus', layers: [], muted: false },
    { id: 'p1-camera', publisher: 'p1', kind: 'video', source: 'camera', codec: 'VP8', layers: ['low', 'medium', 'high'], muted: true },
  ] },
  layer: { track: 'p1-camera', quality: 'low', reason: 'requested' },
  'publish-layers': { track: 'p1-camera', active: ['low', 'high'] },
};

describe('server messages', () => {
  it('covers every server message type', () => {
    expect(Object.keys(validServer).sort()).toEqual([...SERVER_MESSAGE_TYPES].sort());
  });

  for (const type of SERVER_MESSAGE_TYPES) {
    it(`parses a valid "${type}"`, () => {
      const fields = validServer[type] as object;
      expect(parseServerMessage(JSON.stringify({ type, ...fields }))).toEqual({ type, ...fields });
    });
  }

  it('refuses malformed server messages', () => {
    for (const bad of [
      { type: 'joined', id: 'x', room: { id: 'r', topology: 'ring', maxMembers: 8 }, participants: [], iceServers: [] },
      { type: 'joined', id: 'x', room: { id: 'r', topology: 'mesh', maxMembers: 8, media: { videoCodecs: ['VP9'], simulcast: true } }, participants: [], iceServers: [] },
      { type: 'joined', id: 'x', room: { id: 'r', topology: 'mesh', maxMembers: 8, media: { videoCodecs: ['VP8'] } }, participants: [], iceServers: [] },
      { type: 'joined', id: 'x', room: { id: 'r', topology: 'mesh', maxMembers: 8, media: { videoCodecs: ['VP8'], simulcast: true, maxResolution: { width: 0, height: 360 } } }, participants: [], iceServers: [] },
      { type: 'peer-joined', participant: { id: 'p' } },
      { type: 'error', code: 'NOT_A_CODE', message: 'x' },
      { type: 'chat', from: 'p', name: 'n', text: 't' },
      { type: 'quality', id: 'p', score: 1, packetLoss: 0, jitterMs: 0, rttMs: 0, bitrateKbps: 0, warnings: [1] },
      { type: 'tracks', tracks: [{ id: 'p-camera', publisher: 'p', kind: 'video', source: 'webcam', codec: 'VP8', layers: [], muted: false }] },
      { type: 'tracks', tracks: [{ id: 'p-camera', publisher: 'p', kind: 'video', source: 'camera', codec: 'VP8', layers: ['ultra'], muted: false }] },
      { type: 'tracks' },
      { type: 'layer', track: 't', quality: 'auto', reason: 'requested' },
      { type: 'layer', track: 't', quality: 'low', reason: 'because' },
      { type: 'publish-layers', track: 't', active: 'low' },
      { type: 'mystery' },
    ]) {
      expect(codeOf(() => parseServerMessage(JSON.stringify(bad))), JSON.stringify(bad)).toBe('INVALID_MESSAGE');
    }
  });
});
