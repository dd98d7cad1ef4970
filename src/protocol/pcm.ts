/** The /ws/pcm pairing protocol (shared/PROTOCOL.md, "PCM pairing"). */
import { CallpeerError, isWireErrorCode, type WireErrorCode } from '../errors.js';
import { fail, parseJsonObject, reqBoolean, reqNumber, reqOneOf, reqString } from './validate.js';
import { MAX_NAME_LENGTH, participantField, ROOM_CLOSE_REASONS, ROOM_ID_PATTERN, type Participant, type RoomClosedReason } from './signaling.js';

export const PCM_CODECS = ['pcm', 'opus'] as const;
export const PCM_RATES = [8000, 12000, 16000, 24000, 48000] as const;
export const PCM_FRAME_MS = 20;
export const PCM_CHANNELS = 1;
/** Frames under this many bytes are ignored, per the protocol. */
export const PCM_MIN_FRAME_BYTES = 10;
export const PCM_MAX_FRAME_BYTES = 1024 * 1024;
/** Audio is real time: a frame holding more than this much audio is dropped unheard, ms. */
export const PCM_MAX_FRAME_MS = 200;
/**
 * Audio a client may send ahead of real time, ms: a network or scheduler stall delivers a
 * backlog at once (Chromium under load was measured catching up 1.6 s of audio in 0.7 s).
 * Bounded so a flood costs at most this much codec work beyond real time.
 */
export const PCM_MAX_BURST_MS = 5000;

export type PcmCodec = (typeof PCM_CODECS)[number];
export type PcmRate = (typeof PCM_RATES)[number];

export interface PcmParams {
  codec: PcmCodec;
  rate: PcmRate;
  pair?: string;
  token?: string;
  /** (v2) Join this WebRTC room as a `phone` participant instead of pairing. */
  room?: string;
  /** (v2) Display name in the room. */
  name?: string;
}

export type PcmServerMessage =
  | { type: 'waiting' }
  /** In a room (v2) it also names the room and the client's participant id. */
  | { type: 'connected'; codec: PcmCodec; sampleRate: PcmRate; channels: 1; frameMs: 20; room?: string; id?: string }
  | { type: 'peer-joined'; participant: Participant }
  | { type: 'peer-left'; id: string }
  | { type: 'room-closed'; reason: RoomClosedReason }
  | { type: 'kicked'; reason: string }
  | { type: 'disconnected' }
  | { type: 'peer-muted'; muted: boolean }
  | { type: 'error'; code: WireErrorCode; message: string };

export type PcmClientMessage = { type: 'mute'; muted: boolean };

/** Reads the upgrade URL's query. Throws INVALID_MESSAGE naming the bad parameter. */
export function parsePcmParams(query: URLSearchParams): PcmParams {
  const codec = query.get('codec') ?? 'pcm';
  if (!(PCM_CODECS as readonly string[]).includes(codec)) {
    throw new CallpeerError('INVALID_MESSAGE', `codec must be one of ${PCM_CODECS.join(', ')}`);
  }
  const rateText = query.get('rate') ?? '48000';
  const rate = Number(rateText);
  if (!(PCM_RATES as readonly number[]).includes(rate)) {
    throw new CallpeerError('INVALID_MESSAGE', `rate must be one of ${PCM_RATES.join(', ')}`);
  }
  const params: PcmParams = { codec: codec as PcmCodec, rate: rate as PcmRate };
  const pair = query.get('pair');
  if (pair !== null) {
    if (!ROOM_ID_PATTERN.test(pair)) throw new CallpeerError('INVALID_MESSAGE', 'pair must match ^[A-Za-z0-9_-]{1,64}$');
    params.pair = pair;
  }
  const token = query.get('token');
  if (token !== null) params.token = token;
  const room = query.get('room');
  if (room !== null) {
    if (!ROOM_ID_PATTERN.test(room)) throw new CallpeerError('INVALID_MESSAGE', 'room must match ^[A-Za-z0-9_-]{1,64}$');
    if (pair !== null) throw new CallpeerError('INVALID_MESSAGE', 'give room (join a call) or pair (pair with one client), not both');
    params.room = room;
  }
  const name = query.get('name');
  if (name !== null) {
    if (name.length > MAX_NAME_LENGTH) throw new CallpeerError('INVALID_MESSAGE', `name must be at most ${MAX_NAME_LENGTH} characters`);
    params.name = name;
  }
  return params;
}

export function parsePcmClientMessage(text: string): PcmClientMessage {
  const o = parseJsonObject(text);
  if (o.type !== 'mute') fail(`unknown message type "${o.type.slice(0, 32)}"`, o.type.slice(0, 32));
  return { type: 'mute', muted: reqBoolean(o, 'muted', 'mute') };
}

/**
 * Reads a text frame from the server. Throws INVALID_MESSAGE (naming the field) on anything
 * that is not one of its messages, whole and well-typed: a client must not act on a guess.
 */
export function parsePcmServerMessage(text: string): PcmServerMessage {
  const o = parseJsonObject(text);
  const t = o.type;
  switch (t) {
    case 'waiting':
    case 'disconnected':
      return { type: t };
    case 'connected': {
      const codec = reqOneOf(o, 'codec', t, PCM_CODECS);
      const sampleRate = reqNumber(o, 'sampleRate', t);
      if (!(PCM_RATES as readonly number[]).includes(sampleRate)) fail(`connected.sampleRate must be one of ${PCM_RATES.join(', ')}`, t);
      if (o.channels !== PCM_CHANNELS) fail(`connected.channels must be ${PCM_CHANNELS}`, t);
      if (o.frameMs !== PCM_FRAME_MS) fail(`connected.frameMs must be ${PCM_FRAME_MS}`, t);
      const inRoom = o.room === undefined ? {} : { room: reqString(o, 'room', t), id: reqString(o, 'id', t) };
      return { type: t, codec, sampleRate: sampleRate as PcmRate, channels: PCM_CHANNELS, frameMs: PCM_FRAME_MS, ...inRoom };
    }
    case 'peer-joined':
      return { type: t, participant: participantField(o.participant, t) };
    case 'peer-left':
      return { type: t, id: reqString(o, 'id', t) };
    case 'room-closed':
      return { type: t, reason: reqOneOf(o, 'reason', t, ROOM_CLOSE_REASONS) };
    case 'kicked':
      return { type: t, reason: reqString(o, 'reason', t, { max: 256 }) };
    case 'peer-muted':
      return { type: t, muted: reqBoolean(o, 'muted', t) };
    case 'error': {
      const code = reqString(o, 'code', t);
      if (!isWireErrorCode(code)) fail(`error.code "${code.slice(0, 32)}" is not a protocol error code`, t);
      return { type: t, code, message: reqString(o, 'message', t) };
    }
    default:
      fail(`unknown message type "${t.slice(0, 32)}"`, t.slice(0, 32));
  }
}

/** Samples in one 20 ms frame at `rate`. */
export function samplesPerFrame(rate: number): number {
  return (rate * PCM_FRAME_MS) / 1000;
}
