/**
 * How the bridge talks to a voice agent's WebSocket, one object per connection (a reconnect
 * is a new stream). The room's mix goes out in 20 ms frames; what the agent says goes into
 * the play queue.
 *
 * - `twilio`: as Twilio Media Streams speaks to an app: `connected`, `start` (a fresh
 *   streamSid, the customParameters), `media` (µ-law 8 kHz, 160 bytes each), `mark` answers,
 *   `stop`; from the app `media`, `mark`, `clear`.
 * - `raw`: v1's binary frames, Int16 little-endian mono at `rate`, both ways; no marks.
 */
import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import { toCallpeerError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { mulawDecode, mulawEncode } from '../../media/g711.js';
import { bytesToInt16, int16ToBytes } from '../../media/pcm.js';
import { Resampler } from '../../media/resample.js';
import {
  parseTwilioOutbound, TWILIO_CHUNK_BYTES, TWILIO_SAMPLE_RATE, twilioConnected, twilioInboundMark, twilioInboundMedia, twilioStart, twilioStop,
} from '../../protocol/twilio.js';
import type { PlayQueue } from './play-queue.js';

export type BridgeDialectName = 'twilio' | 'raw';

export interface AgentDialect {
  /** The room's mix, one 48 kHz 20 ms frame. */
  sendMix(frame: Int16Array): void;
  /** A frame from the agent. Bad ones are logged and counted, never fatal. */
  receive(data: Buffer, isBinary: boolean): void;
  /** A mark played or cleared (twilio only). */
  answerMark(name: string, cleared: boolean): void;
  /** The bridge is ending the stream (twilio: `stop`). */
  stop(): void;
  /** Frames from the agent that were refused (malformed, wrong kind). */
  readonly refused: number;
  /** Twilio's stream id, for logs and events. */
  readonly streamSid: string | undefined;
}

export interface DialectContext {
  ws: WebSocket;
  queue: PlayQueue;
  log: Logger;
}

const sid = (prefix: string) => prefix + randomBytes(16).toString('hex');

/** Counts refusals and logs the first few of a stream (an agent stuck in a loop would flood the log). */
abstract class Base {
  refused = 0;
  protected constructor(protected readonly ctx: DialectContext) {}

  protected refuse(err: unknown, what: string): void {
    this.refused++;
    if (this.refused <= 5) this.ctx.log.warn({ err: toCallpeerError(err, 'INVALID_MESSAGE').message }, `agent frame refused: ${what}`);
  }

  protected send(data: string | Buffer): void {
    if (this.ctx.ws.readyState === this.ctx.ws.OPEN) this.ctx.ws.send(data);
  }
}

export class TwilioDialect extends Base implements AgentDialect {
  readonly streamSid = sid('MZ');
  private readonly accountSid = sid('AC');
  private readonly callSid = sid('CA');
  private seq = 1;
  private chunk = 1;
  private readonly toAgent = new Resampler(48000, TWILIO_SAMPLE_RATE);
  private readonly fromAgent = new Resampler(TWILIO_SAMPLE_RATE, 48000);
  /** 8 kHz samples waiting to fill a 160-sample chunk (the resampler's output varies by one). */
  private pending = new Int16Array(0);
  private readonly mulaw = new Uint8Array(TWILIO_CHUNK_BYTES);

  constructor(ctx: DialectContext, customParameters: Record<string, string>) {
    super(ctx);
    this.send(twilioConnected());
    this.send(twilioStart(this.seq++, { accountSid: this.accountSid, streamSid: this.streamSid, callSid: this.callSid, customParameters }));
  }

  sendMix(frame: Int16Array): void {
    const out = this.toAgent.process(frame);
    const all = new Int16Array(this.pending.length + out.length);
    all.set(this.pending);
    all.set(out, this.pending.length);
    let at = 0;
    for (; at + TWILIO_CHUNK_BYTES <= all.length; at += TWILIO_CHUNK_BYTES) {
      mulawEncode(all.subarray(at, at + TWILIO_CHUNK_BYTES), this.mulaw);
      // The media timestamp is the stream's own clock, ms since start.
      this.send(twilioInboundMedia(this.seq++, this.streamSid, this.chunk, (this.chunk - 1) * 20, this.mulaw));
      this.chunk++;
    }
    this.pending = all.slice(at);
  }

  receive(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.refuse(new Error('a binary frame'), 'the twilio dialect is JSON text');
      return;
    }
    let m;
    try {
      m = parseTwilioOutbound(data.toString('utf8'));
    } catch (err) {
      this.refuse(err, 'malformed');
      return;
    }
    if (m.streamSid !== this.streamSid) {
      this.refuse(new Error(`streamSid ${m.streamSid.slice(0, 64)} is not this stream's`), m.event);
      return;
    }
    if (m.event === 'media') this.ctx.queue.push(this.fromAgent.process(mulawDecode(m.media.payload)));
    else if (m.event === 'mark') this.ctx.queue.mark(m.mark.name);
    else this.ctx.queue.clear();
  }

  answerMark(name: string, cleared: boolean): void {
    this.send(twilioInboundMark(this.seq++, this.streamSid, name, cleared));
  }

  stop(): void {
    this.send(twilioStop(this.seq++, this.streamSid, this.accountSid, this.callSid));
  }
}

export class RawDialect extends Base implements AgentDialect {
  readonly streamSid = undefined;
  private readonly toAgent: Resampler;
  private readonly fromAgent: Resampler;

  constructor(ctx: DialectContext, rate: number) {
    super(ctx);
    this.toAgent = new Resampler(48000, rate);
    this.fromAgent = new Resampler(rate, 48000);
  }

  sendMix(frame: Int16Array): void {
    const out = this.toAgent.process(frame);
    if (out.length > 0) this.send(Buffer.from(int16ToBytes(out)));
  }

  receive(data: Buffer, isBinary: boolean): void {
    if (!isBinary) return; // text frames (an agent's own control messages) carry no audio
    if (data.length % 2 !== 0) {
      this.refuse(new Error(`${data.length} bytes`), 'a PCM frame must hold whole 16-bit samples');
      return;
    }
    this.ctx.queue.push(this.fromAgent.process(bytesToInt16(data)));
  }

  answerMark(): void {}
  stop(): void {}
}
