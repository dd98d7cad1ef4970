/**
 * Twilio Media Streams (PROTOCOL.md "The PCM gateway"): JSON text frames, base64 µ-law at
 * 8 kHz mono in 20 ms chunks. Two directions: what Twilio (the telephony side) sends to an
 * app, and what an app sends back. callpeer is the app at `/ws/twilio` and plays Twilio's part
 * toward a voice agent in `callpeer bridge --dialect twilio`, so both directions are parsed and
 * built here. Builders write the fields in the order Twilio does.
 */
import { fail, isObject, parseJsonObject, reqString, type Obj } from './validate.js';

export const TWILIO_ENCODING = 'audio/x-mulaw';
export const TWILIO_SAMPLE_RATE = 8000;
/** Bytes of µ-law in one 20 ms media message. */
export const TWILIO_CHUNK_BYTES = 160;
/** A payload bigger than this is not a chunk of real-time audio (1 s of µ-law). */
const MAX_PAYLOAD_BYTES = 8000;
/** customParameters are few and short in practice; more is refused, not stored. */
const MAX_PARAMETERS = 32;
const MAX_PARAMETER_LENGTH = 8192;

export interface TwilioStart {
  accountSid: string;
  streamSid: string;
  callSid: string;
  tracks: string[];
  customParameters: Record<string, string>;
  mediaFormat: { encoding: string; sampleRate: number; channels: number };
}

/** What the telephony side (Twilio) sends to the app. */
export type TwilioInbound =
  | { event: 'connected'; protocol: string; version: string }
  | { event: 'start'; sequenceNumber: string; start: TwilioStart; streamSid: string }
  | { event: 'media'; sequenceNumber: string; streamSid: string; media: { track: string; chunk: string; timestamp: string; payload: Uint8Array } }
  | { event: 'mark'; sequenceNumber: string; streamSid: string; mark: { name: string } }
  | { event: 'dtmf'; sequenceNumber: string; streamSid: string; dtmf: { track: string; digit: string } }
  | { event: 'stop'; sequenceNumber: string; streamSid: string; stop: { accountSid: string; callSid: string } };

/** What the app sends back to the telephony side. */
export type TwilioOutbound =
  | { event: 'media'; streamSid: string; media: { payload: Uint8Array } }
  | { event: 'mark'; streamSid: string; mark: { name: string } }
  | { event: 'clear'; streamSid: string };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (Buffer.from(…, 'base64') skips junk silently). Throws INVALID_MESSAGE. */
export function decodeBase64(text: string, ref: string): Uint8Array {
  if (text.length > ((MAX_PAYLOAD_BYTES + 2) / 3) * 4 + 4) fail(`${ref}: payload over ${MAX_PAYLOAD_BYTES} bytes`, ref);
  if (!BASE64.test(text)) fail(`${ref}: payload is not base64`, ref);
  return Buffer.from(text, 'base64');
}

function field(o: Obj, key: string, ref: string): Obj {
  const v = o[key];
  if (!isObject(v)) fail(`${ref}.${key} must be an object`, ref);
  return v;
}

function parameters(v: unknown, ref: string): Record<string, string> {
  // A null-prototype record: a key named __proto__ or constructor is just a key, and reading
  // one that was not sent finds nothing (not Object.prototype's).
  const out = Object.create(null) as Record<string, string>;
  if (v === undefined) return out;
  if (!isObject(v)) fail(`${ref}.customParameters must be an object`, ref);
  const entries = Object.entries(v);
  if (entries.length > MAX_PARAMETERS) fail(`${ref}.customParameters has over ${MAX_PARAMETERS} entries`, ref);
  for (const [k, x] of entries) {
    if (typeof x !== 'string' || x.length > MAX_PARAMETER_LENGTH) fail(`${ref}.customParameters.${k.slice(0, 32)} must be a string of at most ${MAX_PARAMETER_LENGTH} characters`, ref);
    out[k] = x;
  }
  return out;
}

/**
 * Reads a frame the telephony side sent. Throws INVALID_MESSAGE naming the field, and
 * CODEC_NOT_SUPPORTED (via the caller's check) is left to `checkMediaFormat`.
 */
export function parseTwilioInbound(text: string): TwilioInbound {
  const o = parseJsonObject(text, 'event');
  const e = o.event;
  switch (e) {
    case 'connected':
      return { event: e, protocol: reqString(o, 'protocol', e), version: reqString(o, 'version', e) };
    case 'start': {
      const s = field(o, 'start', e);
      const f = field(s, 'mediaFormat', 'start');
      const tracks = s.tracks;
      if (tracks !== undefined && (!Array.isArray(tracks) || !tracks.every((t) => typeof t === 'string'))) fail('start.tracks must be a string array', e);
      if (typeof f.sampleRate !== 'number' || typeof f.channels !== 'number') fail('start.mediaFormat.sampleRate and channels must be numbers', e);
      return {
        event: e, sequenceNumber: reqString(o, 'sequenceNumber', e), streamSid: reqString(o, 'streamSid', e),
        start: {
          accountSid: reqString(s, 'accountSid', 'start'), streamSid: reqString(s, 'streamSid', 'start'), callSid: reqString(s, 'callSid', 'start'),
          tracks: (tracks as string[] | undefined) ?? ['inbound'], customParameters: parameters(s.customParameters, 'start'),
          mediaFormat: { encoding: reqString(f, 'encoding', 'start.mediaFormat'), sampleRate: f.sampleRate, channels: f.channels },
        },
      };
    }
    case 'media': {
      const m = field(o, 'media', e);
      return {
        event: e, sequenceNumber: reqString(o, 'sequenceNumber', e), streamSid: reqString(o, 'streamSid', e),
        media: {
          track: reqString(m, 'track', e), chunk: reqString(m, 'chunk', e), timestamp: reqString(m, 'timestamp', e),
          payload: decodeBase64(reqString(m, 'payload', e), 'media.payload'),
        },
      };
    }
    case 'mark':
      return { event: e, sequenceNumber: reqString(o, 'sequenceNumber', e), streamSid: reqString(o, 'streamSid', e), mark: { name: reqString(field(o, 'mark', e), 'name', e, { max: 256 }) } };
    case 'dtmf': {
      const d = field(o, 'dtmf', e);
      return { event: e, sequenceNumber: reqString(o, 'sequenceNumber', e), streamSid: reqString(o, 'streamSid', e), dtmf: { track: reqString(d, 'track', e), digit: reqString(d, 'digit', e, { max: 1 }) } };
    }
    case 'stop': {
      const s = field(o, 'stop', e);
      return { event: e, sequenceNumber: reqString(o, 'sequenceNumber', e), streamSid: reqString(o, 'streamSid', e), stop: { accountSid: reqString(s, 'accountSid', e), callSid: reqString(s, 'callSid', e) } };
    }
    default:
      fail(`unknown event "${e.slice(0, 32)}"`, e.slice(0, 32));
  }
}

/** Reads a frame an app sent (media to play, a mark, clear). Throws INVALID_MESSAGE. */
export function parseTwilioOutbound(text: string): TwilioOutbound {
  const o = parseJsonObject(text, 'event');
  const e = o.event;
  switch (e) {
    case 'media':
      return { event: e, streamSid: reqString(o, 'streamSid', e), media: { payload: decodeBase64(reqString(field(o, 'media', e), 'payload', e), 'media.payload') } };
    case 'mark':
      return { event: e, streamSid: reqString(o, 'streamSid', e), mark: { name: reqString(field(o, 'mark', e), 'name', e, { max: 256 }) } };
    case 'clear':
      return { event: e, streamSid: reqString(o, 'streamSid', e) };
    default:
      fail(`unknown event "${e.slice(0, 32)}"`, e.slice(0, 32));
  }
}

/** Whether a stream's format is the one Twilio streams (µ-law, 8 kHz, mono); the reason if not. */
export function unsupportedFormat(f: TwilioStart['mediaFormat']): string | undefined {
  if (f.encoding === TWILIO_ENCODING && f.sampleRate === TWILIO_SAMPLE_RATE && f.channels === 1) return undefined;
  return `mediaFormat ${f.encoding} ${f.sampleRate} Hz ${f.channels} ch: only ${TWILIO_ENCODING} ${TWILIO_SAMPLE_RATE} Hz mono is streamed`;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');

// ---- app to telephony side (callpeer at /ws/twilio; an agent toward the bridge) ----
export function twilioMedia(streamSid: string, payload: Uint8Array): string {
  return twilioMediaBase64(streamSid, twilioPayload(payload));
}
/** A `media` payload: µ-law bytes as base64. */
export const twilioPayload = b64;
/** A `media` message around a payload already in base64 (one made once for many streams). */
export function twilioMediaBase64(streamSid: string, payload: string): string {
  return JSON.stringify({ event: 'media', streamSid, media: { payload } });
}
export function twilioMark(streamSid: string, name: string): string {
  return JSON.stringify({ event: 'mark', streamSid, mark: { name } });
}
export function twilioClear(streamSid: string): string {
  return JSON.stringify({ event: 'clear', streamSid });
}

// ---- telephony side to app (the bridge toward an agent; tests playing Twilio) ----
export function twilioConnected(): string {
  return JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' });
}
export function twilioStart(seq: number, start: Omit<TwilioStart, 'mediaFormat' | 'tracks'> & { tracks?: string[] }): string {
  return JSON.stringify({
    event: 'start', sequenceNumber: String(seq),
    start: {
      accountSid: start.accountSid, streamSid: start.streamSid, callSid: start.callSid, tracks: start.tracks ?? ['inbound'],
      customParameters: start.customParameters, mediaFormat: { encoding: TWILIO_ENCODING, sampleRate: TWILIO_SAMPLE_RATE, channels: 1 },
    },
    streamSid: start.streamSid,
  });
}
export function twilioInboundMedia(seq: number, streamSid: string, chunk: number, timestampMs: number, payload: Uint8Array): string {
  return JSON.stringify({
    event: 'media', sequenceNumber: String(seq),
    media: { track: 'inbound', chunk: String(chunk), timestamp: String(timestampMs), payload: b64(payload) },
    streamSid,
  });
}
/**
 * A mark answered. `cleared`: the app's `clear` dropped its audio before it played (callpeer's
 * addition: Twilio answers both alike; an app that does not know the field sees a plain mark).
 */
export function twilioInboundMark(seq: number, streamSid: string, name: string, cleared = false): string {
  return JSON.stringify({ event: 'mark', sequenceNumber: String(seq), streamSid, mark: cleared ? { name, cleared: true } : { name } });
}
export function twilioStop(seq: number, streamSid: string, accountSid: string, callSid: string): string {
  return JSON.stringify({ event: 'stop', sequenceNumber: String(seq), streamSid, stop: { accountSid, callSid } });
}
