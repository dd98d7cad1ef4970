/**
 * The `/ws/twilio` dialect of a gateway client (PROTOCOL.md "The PCM gateway"): a phone call
 * streamed by Twilio Media Streams, where callpeer plays the app's part. Inside, the client is
 * a PCM client at 8 kHz: what it sends is µ-law decoded before the room leg takes it, and the
 * room's mix (8 kHz PCM frames from the leg's egress) goes back µ-law encoded in `media`
 * messages carrying the stream's `streamSid`. This module reads the stream's frames and adapts
 * the egress; joining, leaving and budgets stay the service's.
 */
import type { WebSocket } from 'ws';
import { CallpeerError, type WireErrorCode } from '../errors.js';
import { mulawDecode, mulawEncode } from '../media/g711.js';
import { bytesToInt16, int16ToBytes } from '../media/pcm.js';
import { MAX_NAME_LENGTH, ROOM_ID_PATTERN } from '../protocol/signaling.js';
import type { PcmParams } from '../protocol/pcm.js';
import { parseTwilioInbound, TWILIO_SAMPLE_RATE, twilioMediaBase64, twilioPayload, unsupportedFormat } from '../protocol/twilio.js';
import type { AudioSink } from './egress.js';

/** What a frame from the stream asks the service to do. */
export type TwilioAction =
  | { kind: 'none' }
  | { kind: 'join'; room: string; name: string; token: string | undefined }
  | { kind: 'audio'; pcm: Buffer; ms: number }
  | { kind: 'stop' };

/**
 * The upgrade URL's `?room=`, if any (Twilio strips query strings from a <Stream> URL, so the
 * room may come later in `start.customParameters.room` instead). Throws INVALID_MESSAGE.
 */
export function parseTwilioParams(query: URLSearchParams): PcmParams {
  const room = query.get('room');
  if (room !== null && !ROOM_ID_PATTERN.test(room)) throw new CallpeerError('INVALID_MESSAGE', 'room must match ^[A-Za-z0-9_-]{1,64}$');
  return { codec: 'pcm', rate: TWILIO_SAMPLE_RATE, ...(room !== null && { room }) };
}

/** The app-side error message callpeer adds to Twilio's set (Twilio defines none toward the telephony side). */
export function twilioError(code: WireErrorCode, message: string): string {
  return JSON.stringify({ event: 'error', code, message });
}

/**
 * `media` payloads (µ-law, base64) by the 8 kHz frame they encode. In a room every leg not
 * talking is handed the same frame of the mix (rooms/audio-leg.ts SharedFrame), so the
 * streams of one server share one cache and encode that frame once, not once per caller.
 */
export type TwilioPayloads = WeakMap<Buffer, string>;

/** One stream's state: before `start`, started (with its streamSid), stopped. */
export class TwilioStream implements AudioSink {
  streamSid: string | undefined;
  private stopped = false;

  /** `urlRoom`: the room named in the upgrade URL, which wins over customParameters.room. */
  constructor(private readonly ws: WebSocket, private readonly urlRoom: string | undefined, private readonly payloads: TwilioPayloads = new WeakMap()) {}

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** The egress's 8 kHz PCM frame, as one `media` message. */
  send(data: Buffer, _options: { binary: true }, cb: (err?: Error) => void): void {
    if (this.streamSid === undefined) {
      cb();
      return;
    }
    let payload = this.payloads.get(data);
    if (payload === undefined) {
      payload = twilioPayload(mulawEncode(bytesToInt16(data)));
      this.payloads.set(data, payload);
    }
    this.ws.send(twilioMediaBase64(this.streamSid, payload), cb);
  }

  /**
   * Reads one text frame. Throws INVALID_MESSAGE (malformed, out of order, another stream's
   * sid) or CODEC_NOT_SUPPORTED (a format other than µ-law 8 kHz mono).
   */
  read(text: string): TwilioAction {
    const m = parseTwilioInbound(text);
    if (this.stopped) return { kind: 'none' };
    switch (m.event) {
      case 'connected':
        return { kind: 'none' };
      case 'start': {
        if (this.streamSid !== undefined) throw new CallpeerError('INVALID_MESSAGE', 'start: the stream has started already', { ref: 'start' });
        const reason = unsupportedFormat(m.start.mediaFormat);
        if (reason) throw new CallpeerError('CODEC_NOT_SUPPORTED', reason, { ref: 'start' });
        const p = m.start.customParameters;
        const room = this.urlRoom ?? p.room;
        if (room === undefined) throw new CallpeerError('INVALID_MESSAGE', 'start: no room to join: give /ws/twilio?room=<room> or a <Parameter name="room"> in the <Stream>', { ref: 'start' });
        if (!ROOM_ID_PATTERN.test(room)) throw new CallpeerError('INVALID_MESSAGE', 'start: customParameters.room must match ^[A-Za-z0-9_-]{1,64}$', { ref: 'start' });
        this.streamSid = m.start.streamSid;
        const name = (p.name ?? p.caller ?? p.From ?? 'Phone').slice(0, MAX_NAME_LENGTH);
        return { kind: 'join', room, name, token: p.token };
      }
      case 'media': {
        this.checkSid(m.streamSid, m.event);
        // Only the caller's side is the caller's voice: an outbound track is what it hears.
        if (m.media.track !== 'inbound' && m.media.track !== 'inbound_track') return { kind: 'none' };
        const pcm = int16ToBytes(mulawDecode(m.media.payload));
        return { kind: 'audio', pcm, ms: m.media.payload.length / (TWILIO_SAMPLE_RATE / 1000) };
      }
      case 'stop':
        this.checkSid(m.streamSid, m.event);
        this.stopped = true;
        return { kind: 'stop' };
      default:
        // mark (callpeer sends none to be answered) and dtmf: nothing to do in a room yet.
        this.checkSid(m.streamSid, m.event);
        return { kind: 'none' };
    }
  }

  private checkSid(sid: string, event: string): void {
    if (this.streamSid === undefined) throw new CallpeerError('INVALID_MESSAGE', `${event} before start`, { ref: event });
    if (sid !== this.streamSid) throw new CallpeerError('INVALID_MESSAGE', `${event}: streamSid ${sid.slice(0, 64)} is not this stream's`, { ref: event });
  }
}
