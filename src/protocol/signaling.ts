/**
 * The /ws signaling protocol, version 2 (shared/PROTOCOL.md; v1 clients keep working), in code: message types and
 * validators, used by the server and by the Node client alike.
 */
import { CallpeerError, isWireErrorCode, type WireErrorCode } from '../errors.js';
import {
  fail, isObject, nestsAtMost, optBoolean, optNumberIn, optOneOf, optString, parseJsonObject, reqBoolean, reqNumber,
  reqNumberIn, reqObject, reqOneOf, reqString, type Obj,
} from './validate.js';

export const PROTOCOL_VERSION = 2;
export const ROOM_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** A participant's role; `phone` (v2) is a PCM gateway client, never asked for in `join`. */
export const ROLES = ['participant', 'bot', 'recorder', 'phone'] as const;
/** The roles a `join` may ask for. */
export const JOIN_ROLES = ['participant', 'bot', 'recorder'] as const;
export const TOPOLOGIES = ['mesh', 'sfu'] as const;
export const QUALITIES = ['low', 'medium', 'high'] as const;
/** (v2) What a subscriber may ask for: a layer, or `auto` (the server picks; the default). */
export const LAYER_PREFERENCES = [...QUALITIES, 'auto'] as const;
/** (v2) Why the forwarded layer changed. */
export const LAYER_REASONS = ['requested', 'bandwidth', 'loss', 'unavailable'] as const;
export const TRACK_KINDS = ['audio', 'video'] as const;
/** Video codecs an SFU room may take (`serve --video-codecs`), as SDP names them. */
export const VIDEO_CODECS = ['VP8', 'H264'] as const;
export const TRACK_SOURCES = ['microphone', 'camera', 'screen'] as const;
/** Longest display name accepted; longer names are refused, not cut. */
export const MAX_NAME_LENGTH = 64;
export const MAX_METADATA_BYTES = 4096;
/** Levels of objects and arrays `join.metadata` may nest (itself included). */
export const MAX_METADATA_DEPTH = 16;
export const MAX_CHAT_LENGTH = 4096;
/** SDP is bounded by the frame limit; this guards against empty or absurd values. */
export const MAX_SDP_LENGTH = 60_000;
export const MAX_CANDIDATE_LENGTH = 1024;

export type Role = (typeof ROLES)[number];
export type JoinRole = (typeof JOIN_ROLES)[number];
export type Topology = (typeof TOPOLOGIES)[number];
export type Quality = (typeof QUALITIES)[number];
export type LayerPreference = (typeof LAYER_PREFERENCES)[number];
export type LayerReason = (typeof LAYER_REASONS)[number];
export type TrackKind = (typeof TRACK_KINDS)[number];
export type VideoCodecName = (typeof VIDEO_CODECS)[number];
export type TrackSource = (typeof TRACK_SOURCES)[number];

/** (v2) One track an SFU room forwards (`tracks`). */
export interface TrackInfo {
  /** Stable for the life of the track: `<publisher id>-<source>`. */
  id: string;
  publisher: string;
  kind: TrackKind;
  source: TrackSource;
  /** `opus`, `VP8`, `H264` as negotiated. */
  codec: string;
  /** The simulcast layers it has, low to high; [] when not simulcast. */
  layers: Quality[];
  muted: boolean;
}

export interface Participant {
  id: string;
  name: string;
  role: Role;
  audio: boolean;
  video: boolean;
  screen: boolean;
  metadata: Record<string, unknown>;
  /** (v2) The token's `sub`; absent for guests and when auth is off. */
  identity?: string;
  /** (v2) Let in without a token (`--allow-guests`). A v1 server sends none. */
  guest?: boolean;
  /** (v2) False when the token says `publish: false`: the member sends no media. */
  canPublish?: boolean;
}

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

// ---- client to server ----
export interface JoinMessage { type: 'join'; room: string; name?: string; token?: string; role?: JoinRole; audio?: boolean; video?: boolean; metadata?: Record<string, unknown>; autoSubscribe?: boolean }
export interface OfferMessage { type: 'offer'; to?: string; sdp: string }
export interface AnswerMessage { type: 'answer'; to?: string; sdp: string }
export interface CandidateMessage { type: 'candidate'; to?: string; candidate: string; mid: string }
export interface MediaMessage { type: 'media'; audio?: boolean; video?: boolean; screen?: boolean }
export interface ChatMessage { type: 'chat'; text: string }
export interface LeaveMessage { type: 'leave' }
export interface PingMessage { type: 'ping'; id?: string | number }
export interface SubscribeMessage { type: 'subscribe' | 'unsubscribe'; publisher: string; track: string }
export interface LayerMessage { type: 'layer'; track: string; quality: LayerPreference }
/** (v2, mesh rooms) What a member measures of its link from `peer` (what it receives), every 2-5 s. */
export interface StatsMessage { type: 'stats'; peer: string; packetLoss: number; jitterMs: number; rttMs: number; bitrateKbps: number; framesPerSecond?: number }

export type ClientMessage =
  | JoinMessage | OfferMessage | AnswerMessage | CandidateMessage | MediaMessage | ChatMessage
  | LeaveMessage | PingMessage | SubscribeMessage | LayerMessage | StatsMessage;
export type ClientMessageType = ClientMessage['type'];

// ---- server to client ----
/**
 * (v2) The server's media settings (`serve --max-video-bitrate` and friends), handed to every
 * member in `joined.room.media`: what its clients send. Limits left out are not set.
 */
export interface MediaSettings {
  /** Video codecs SFU publishers may use, in preference order. */
  videoCodecs: VideoCodecName[];
  /** Whether cameras go out as simulcast layers in SFU rooms (else one encoding). */
  simulcast: boolean;
  /** Ceiling of each video track's bitrate, its simulcast layers together, kbit/s. */
  maxVideoBitrateKbps?: number;
  /** Largest camera picture sent; a larger one is scaled down, keeping its shape. */
  maxResolution?: { width: number; height: number };
  maxFramerate?: number;
  /** Ceiling of each audio sender's bitrate, kbit/s. */
  audioBitrateKbps?: number;
}
export interface RoomInfo { id: string; topology: Topology; maxMembers: number; media?: MediaSettings }
export interface JoinedMessage { type: 'joined'; id: string; room: RoomInfo; participants: Participant[]; iceServers: IceServer[] }
export interface PeerJoinedMessage { type: 'peer-joined'; participant: Participant }
export interface PeerLeftMessage { type: 'peer-left'; id: string }
export interface PeerUpdatedMessage { type: 'peer-updated'; participant: Participant }
export interface RelayedOffer { type: 'offer'; from: string; sdp: string }
export interface RelayedAnswer { type: 'answer'; from: string; sdp: string }
export interface RelayedCandidate { type: 'candidate'; from: string; candidate: string; mid: string }
export interface ChatLine { type: 'chat'; from: string; name: string; text: string; ts: number }
export interface QualityMessage { type: 'quality'; id: string; score: number; packetLoss: number; jitterMs: number; rttMs: number; bitrateKbps: number; warnings: string[] }
export interface PongMessage { type: 'pong'; id?: string | number }
export interface ErrorMessage { type: 'error'; code: WireErrorCode; message: string; ref?: string }
/** (v2) Why a room closed under its members: deleted through the room API, or its node was lost. */
export const ROOM_CLOSE_REASONS = ['deleted', 'node-lost'] as const;
export type RoomClosedReason = (typeof ROOM_CLOSE_REASONS)[number];
export interface RoomClosedMessage { type: 'room-closed'; reason: RoomClosedReason }
export interface KickedMessage { type: 'kicked'; reason: string }
/** (v2) The room's tracks, whole, after `joined` and on every change (SFU rooms). */
export interface TracksMessage { type: 'tracks'; tracks: TrackInfo[] }
/** (v2) The layer the server now forwards on one of your subscriptions. */
export interface LayerChangedMessage { type: 'layer'; track: string; quality: Quality; reason: LayerReason }
/** (v2) To a publisher: the layers of its track someone receives; it may pause the others. */
export interface PublishLayersMessage { type: 'publish-layers'; track: string; active: Quality[] }
export interface MutedByServerMessage { type: 'muted-by-server'; audio?: boolean; video?: boolean; screen?: boolean }
/** (v2) The server took a member out of its room for good: it must not re-join by itself. */
export interface RemovedByServer { reason: 'kicked' | 'room-closed'; message: string }

export type ServerMessage =
  | JoinedMessage | PeerJoinedMessage | PeerLeftMessage | PeerUpdatedMessage | RelayedOffer
  | RelayedAnswer | RelayedCandidate | ChatLine | QualityMessage | PongMessage | ErrorMessage
  | RoomClosedMessage | KickedMessage | MutedByServerMessage | TracksMessage | LayerChangedMessage
  | PublishLayersMessage;
export type ServerMessageType = ServerMessage['type'];

/** Upper bounds of a `stats` report's figures. */
export const STATS_MAX_MS = 60_000;
export const STATS_MAX_KBPS = 1_000_000;

export const CLIENT_MESSAGE_TYPES: readonly ClientMessageType[] = [
  'join', 'offer', 'answer', 'candidate', 'media', 'chat', 'leave', 'ping', 'subscribe', 'unsubscribe', 'layer', 'stats',
];
export const SERVER_MESSAGE_TYPES: readonly ServerMessageType[] = [
  'joined', 'peer-joined', 'peer-left', 'peer-updated', 'offer', 'answer', 'candidate', 'chat', 'quality', 'pong', 'error',
  'room-closed', 'kicked', 'muted-by-server', 'tracks', 'layer', 'publish-layers',
];

export function isValidRoomId(id: unknown): id is string {
  return typeof id === 'string' && ROOM_ID_PATTERN.test(id);
}

function sdpField(o: Obj, ref: string): string {
  const sdp = reqString(o, 'sdp', ref, { max: MAX_SDP_LENGTH });
  // An SDP body always starts with its version line; anything else is not SDP at all.
  if (!sdp.startsWith('v=0')) throw new CallpeerError('INVALID_SDP', `${ref}.sdp is not an SDP body (must start with "v=0")`, { ref });
  return sdp;
}

function metadataField(o: Obj, ref: string): Record<string, unknown> | undefined {
  const v = o.metadata;
  if (v === undefined) return undefined;
  if (!isObject(v)) fail(`${ref}.metadata must be an object`, ref);
  if (!nestsAtMost(v, MAX_METADATA_DEPTH)) fail(`${ref}.metadata must nest at most ${MAX_METADATA_DEPTH} levels deep`, ref);
  if (Buffer.byteLength(JSON.stringify(v)) > MAX_METADATA_BYTES) fail(`${ref}.metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`, ref);
  return v;
}

function pingId(o: Obj, ref: string): string | number | undefined {
  const id = o.id;
  if (id === undefined) return undefined;
  if (typeof id === 'string' && id.length <= 128) return id;
  if (typeof id === 'number' && Number.isFinite(id)) return id;
  fail(`${ref}.id must be a string (≤ 128 chars) or a number`, ref);
}

function withDefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** Validates a client frame's object. Unknown fields are dropped, so relays carry only known ones. */
export function validateClientMessage(o: Obj & { type: string }): ClientMessage {
  const t = o.type;
  switch (t) {
    case 'join': {
      const room = reqString(o, 'room', t);
      if (!isValidRoomId(room)) fail('join.room must match ^[A-Za-z0-9_-]{1,64}$', t);
      return withDefined({
        type: t, room,
        name: optString(o, 'name', t, { max: MAX_NAME_LENGTH }),
        token: optString(o, 'token', t, { max: 8192 }),
        role: optOneOf(o, 'role', t, JOIN_ROLES),
        audio: optBoolean(o, 'audio', t),
        video: optBoolean(o, 'video', t),
        metadata: metadataField(o, t),
        autoSubscribe: optBoolean(o, 'autoSubscribe', t),
      });
    }
    case 'offer':
    case 'answer':
      return withDefined({ type: t, to: optString(o, 'to', t, { min: 1, max: 64 }), sdp: sdpField(o, t) });
    case 'candidate':
      return withDefined({
        type: t,
        to: optString(o, 'to', t, { min: 1, max: 64 }),
        candidate: reqString(o, 'candidate', t, { max: MAX_CANDIDATE_LENGTH }),
        mid: reqString(o, 'mid', t, { max: 64 }),
      });
    case 'media': {
      const m = withDefined({ type: t, audio: optBoolean(o, 'audio', t), video: optBoolean(o, 'video', t), screen: optBoolean(o, 'screen', t) });
      return m;
    }
    case 'chat':
      return { type: t, text: reqString(o, 'text', t, { min: 1, max: MAX_CHAT_LENGTH }) };
    case 'leave':
      return { type: t };
    case 'ping':
      return withDefined({ type: t, id: pingId(o, t) });
    case 'subscribe':
    case 'unsubscribe':
      return { type: t, publisher: reqString(o, 'publisher', t, { min: 1, max: 64 }), track: reqString(o, 'track', t, { min: 1, max: 64 }) };
    case 'layer':
      return { type: t, track: reqString(o, 'track', t, { min: 1, max: 64 }), quality: reqOneOf(o, 'quality', t, LAYER_PREFERENCES) };
    case 'stats':
      // Bounds a real link can reach; anything beyond is a broken or hostile client.
      return withDefined({
        type: t,
        peer: reqString(o, 'peer', t, { min: 1, max: 64 }),
        packetLoss: reqNumberIn(o, 'packetLoss', t, 0, 100),
        jitterMs: reqNumberIn(o, 'jitterMs', t, 0, STATS_MAX_MS),
        rttMs: reqNumberIn(o, 'rttMs', t, 0, STATS_MAX_MS),
        bitrateKbps: reqNumberIn(o, 'bitrateKbps', t, 0, STATS_MAX_KBPS),
        framesPerSecond: optNumberIn(o, 'framesPerSecond', t, 0, 1000),
      });
    default:
      fail(`unknown message type "${t.slice(0, 32)}"`, t.slice(0, 32));
  }
}

/** Parses and validates one client text frame. Throws CallpeerError (INVALID_MESSAGE / INVALID_SDP). */
export function parseClientMessage(text: string): ClientMessage {
  return validateClientMessage(parseJsonObject(text));
}

/** Validates a participant object (also read by /ws/pcm room clients). */
export function participantField(v: unknown, ref: string): Participant {
  if (!isObject(v)) fail(`${ref}.participant must be an object`, ref);
  return {
    id: reqString(v, 'id', ref, { min: 1 }),
    name: reqString(v, 'name', ref),
    role: reqOneOf(v, 'role', ref, ROLES),
    audio: reqBoolean(v, 'audio', ref),
    video: reqBoolean(v, 'video', ref),
    screen: reqBoolean(v, 'screen', ref),
    metadata: isObject(v.metadata) ? v.metadata : {},
    ...withDefined({ identity: optString(v, 'identity', ref), guest: optBoolean(v, 'guest', ref), canPublish: optBoolean(v, 'canPublish', ref) }),
  };
}

function qualityList(v: unknown, what: string, ref: string): Quality[] {
  if (!Array.isArray(v) || !v.every((q) => (QUALITIES as readonly unknown[]).includes(q))) fail(`${what} must be a list of ${QUALITIES.join('/')}`, ref);
  return v as Quality[];
}

function trackInfoField(v: unknown, ref: string): TrackInfo {
  if (!isObject(v)) fail(`${ref}.tracks entries must be objects`, ref);
  return {
    id: reqString(v, 'id', ref, { min: 1 }),
    publisher: reqString(v, 'publisher', ref, { min: 1 }),
    kind: reqOneOf(v, 'kind', ref, TRACK_KINDS),
    source: reqOneOf(v, 'source', ref, TRACK_SOURCES),
    codec: reqString(v, 'codec', ref),
    layers: qualityList(v.layers, `${ref}.tracks[].layers`, ref),
    muted: reqBoolean(v, 'muted', ref),
  };
}

function mediaSettingsField(v: unknown): MediaSettings {
  if (!isObject(v)) fail('joined.room.media must be an object', 'joined');
  const codecs = v.videoCodecs;
  if (!Array.isArray(codecs) || !codecs.every((c) => (VIDEO_CODECS as readonly unknown[]).includes(c))) fail(`joined.room.media.videoCodecs must list ${VIDEO_CODECS.join('/')}`, 'joined');
  // Positive and finite is all a client needs to check: the server bounds its own flags.
  const positive = (o: Record<string, unknown>, key: string) => optNumberIn(o, key, 'joined', 1, Number.MAX_SAFE_INTEGER);
  let maxResolution: MediaSettings['maxResolution'];
  if (v.maxResolution !== undefined) {
    const r = reqObject(v, 'maxResolution', 'joined');
    maxResolution = { width: positive(r, 'width') ?? fail('joined.room.media.maxResolution.width is required', 'joined'), height: positive(r, 'height') ?? fail('joined.room.media.maxResolution.height is required', 'joined') };
  }
  return withDefined({
    videoCodecs: codecs as VideoCodecName[],
    simulcast: reqBoolean(v, 'simulcast', 'joined'),
    maxVideoBitrateKbps: positive(v, 'maxVideoBitrateKbps'),
    maxResolution,
    maxFramerate: positive(v, 'maxFramerate'),
    audioBitrateKbps: positive(v, 'audioBitrateKbps'),
  });
}

function iceServerField(v: unknown): IceServer {
  if (!isObject(v)) fail('joined.iceServers entries must be objects', 'joined');
  const urls = v.urls;
  if (!(typeof urls === 'string' || (Array.isArray(urls) && urls.every((u) => typeof u === 'string')))) fail('joined.iceServers[].urls must be a string or string[]', 'joined');
  return withDefined({ urls, username: optString(v, 'username', 'joined'), credential: optString(v, 'credential', 'joined') });
}

/** Validates a server frame (the Node client's side of the contract). */
export function parseServerMessage(text: string): ServerMessage {
  const o = parseJsonObject(text);
  const t = o.type;
  switch (t) {
    case 'joined': {
      const room = reqObject(o, 'room', t);
      const parts = o.participants;
      const ice = o.iceServers;
      if (!Array.isArray(parts)) fail('joined.participants must be an array', t);
      if (!Array.isArray(ice)) fail('joined.iceServers must be an array', t);
      return {
        type: t,
        id: reqString(o, 'id', t, { min: 1 }),
        room: {
          id: reqString(room, 'id', t), topology: reqOneOf(room, 'topology', t, TOPOLOGIES), maxMembers: reqNumber(room, 'maxMembers', t),
          ...(room.media !== undefined && { media: mediaSettingsField(room.media) }),
        },
        participants: parts.map((p) => participantField(p, t)),
        iceServers: ice.map(iceServerField),
      };
    }
    case 'peer-joined':
    case 'peer-updated':
      return { type: t, participant: participantField(o.participant, t) };
    case 'peer-left':
      return { type: t, id: reqString(o, 'id', t) };
    case 'offer':
    case 'answer':
      return { type: t, from: reqString(o, 'from', t), sdp: reqString(o, 'sdp', t) };
    case 'candidate':
      return { type: t, from: reqString(o, 'from', t), candidate: reqString(o, 'candidate', t), mid: reqString(o, 'mid', t) };
    case 'chat':
      return { type: t, from: reqString(o, 'from', t), name: reqString(o, 'name', t), text: reqString(o, 'text', t), ts: reqNumber(o, 'ts', t) };
    case 'quality': {
      const w = o.warnings;
      if (!Array.isArray(w) || !w.every((x) => typeof x === 'string')) fail('quality.warnings must be a string array', t);
      return {
        type: t, id: reqString(o, 'id', t), score: reqNumber(o, 'score', t), packetLoss: reqNumber(o, 'packetLoss', t),
        jitterMs: reqNumber(o, 'jitterMs', t), rttMs: reqNumber(o, 'rttMs', t), bitrateKbps: reqNumber(o, 'bitrateKbps', t), warnings: w as string[],
      };
    }
    case 'pong':
      return withDefined({ type: t, id: pingId(o, t) });
    case 'room-closed':
      return { type: t, reason: reqOneOf(o, 'reason', t, ROOM_CLOSE_REASONS) };
    case 'kicked':
      return { type: t, reason: reqString(o, 'reason', t, { max: 256 }) };
    case 'muted-by-server':
      return withDefined({ type: t, audio: optBoolean(o, 'audio', t), video: optBoolean(o, 'video', t), screen: optBoolean(o, 'screen', t) });
    case 'tracks': {
      const list = o.tracks;
      if (!Array.isArray(list)) fail('tracks.tracks must be an array', t);
      return { type: t, tracks: list.map((x) => trackInfoField(x, t)) };
    }
    case 'layer':
      return {
        type: t, track: reqString(o, 'track', t), quality: reqOneOf(o, 'quality', t, QUALITIES), reason: reqOneOf(o, 'reason', t, LAYER_REASONS),
      };
    case 'publish-layers':
      return { type: t, track: reqString(o, 'track', t), active: qualityList(o.active, 'publish-layers.active', t) };
    case 'error': {
      const code = reqString(o, 'code', t);
      if (!isWireErrorCode(code)) fail(`error.code "${code.slice(0, 32)}" is not a protocol error code`, t);
      return withDefined({ type: t, code, message: reqString(o, 'message', t), ref: optString(o, 'ref', t) });
    }
    default:
      fail(`unknown message type "${t.slice(0, 32)}"`, t.slice(0, 32));
  }
}

export function errorMessage(code: WireErrorCode, message: string, ref?: string): ErrorMessage {
  return ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref };
}
