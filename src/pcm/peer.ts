import type { WebSocket } from 'ws';
import { opusPacketSamples48k } from '../media/opus-packet.js';
import { PCM_FRAME_MS, PCM_MAX_FRAME_MS, type PcmParams, type PcmServerMessage } from '../protocol/pcm.js';
import { TokenBucket } from '../time/token-bucket.js';
import { Egress, type EgressOptions } from './egress.js';
import type { Member } from '../rooms/member.js';
import type { PcmRoomLeg } from './room-leg.js';
import type { PcmUplink } from './pairing.js';
import type { PcmSession } from './session.js';
import { twilioError, type TwilioStream } from './twilio-stream.js';

/**
 * One /ws/pcm client as the server sees it: its socket, what it asked for, where it is. A
 * /ws/twilio client is one too, speaking through its TwilioStream (µ-law `media` messages).
 */
export class PcmPeer {
  readonly egress: Egress;
  /** The pair it is in, if any. */
  session: PcmSession | undefined;
  /** (v2) In a room instead: its membership and its audio leg. */
  member: Member | undefined;
  leg: PcmRoomLeg | undefined;
  /** (cluster) Its pair or room is hosted by another node: what it sends goes there. */
  link: PcmUplink | undefined;
  /**
   * (cluster) Set when this is a client of another node hosted here (its socket relays there):
   * hands it back to its node, which pings it, times it out, and pairs it again.
   */
  release: (() => void) | undefined;
  /** What it last said with `{type:'mute'}`; a new partner is told at once. */
  muted = false;
  /** Date.now() of its last frame, message or pong. */
  lastHeard: number;
  /** Bad frames it may still send; empty, the socket is closed. Refills slowly (see the service). */
  readonly strikes: TokenBucket;
  /** Ms of audio it may send now: refills in real time, up to a burst. */
  private readonly audioBudget: TokenBucket;
  /** Date.now() when it was last told that its audio is being dropped. */
  private lastOverrunNotice = -Infinity;
  /** Set once its socket closed (or the server is closing it): never queue or pair it again. */
  gone = false;

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    readonly params: PcmParams,
    egressOptions: EgressOptions,
    strikes: TokenBucket,
    maxBurstMs: number,
    /** Set for a /ws/twilio client: its audio goes out as Twilio `media` messages. */
    readonly twilio?: TwilioStream,
  ) {
    this.egress = new Egress(twilio ?? ws, egressOptions);
    this.strikes = strikes;
    this.audioBudget = new TokenBucket(1000, maxBurstMs);
    this.lastHeard = Date.now();
  }

  /** True while its socket can take messages. */
  get open(): boolean {
    return !this.gone && this.ws.readyState === this.ws.OPEN;
  }

  /**
   * Sends a control message (never dropped, unlike audio). A Twilio stream has no room events
   * in its dialect: it gets errors only.
   */
  sendJson(message: PcmServerMessage): void {
    if (!this.open) return;
    if (!this.twilio) this.ws.send(JSON.stringify(message));
    else if (message.type === 'error') this.ws.send(twilioError(message.code, message.message));
  }

  /** How much audio a frame from this client holds, ms (an Opus packet by its TOC; 20 if unreadable). */
  frameMs(frame: Uint8Array): number {
    if (this.params.codec === 'pcm') return frame.length / 2 / (this.params.rate / 1000);
    try {
      return opusPacketSamples48k(frame) / 48;
    } catch {
      return PCM_FRAME_MS;
    }
  }

  /**
   * Whether a frame of `ms` fits real time: at most PCM_MAX_FRAME_MS long, and within what the
   * client may have sent by now. Checked before any decoding or resampling, so a client that
   * floods the server costs it no codec work.
   */
  admitAudio(ms: number): boolean {
    return ms <= PCM_MAX_FRAME_MS && this.audioBudget.take(ms);
  }

  /** Tells the client its audio is being dropped, at most once a second. */
  noticeOverrun(now = Date.now()): void {
    if (now - this.lastOverrunNotice < 1000) return;
    this.lastOverrunNotice = now;
    this.sendJson({
      type: 'error', code: 'RATE_LIMITED',
      message: `audio dropped: send at most ${PCM_MAX_FRAME_MS} ms per frame, in real time`,
    });
  }
}
