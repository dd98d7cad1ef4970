import type { WebSocket, RawData } from 'ws';
import { CallpeerError, toCallpeerError, type WireErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { CLOSE_NORMAL, CLOSE_POLICY, closeCodeFor, type CloseCode } from '../protocol/close-codes.js';
import { errorMessage, parseClientMessage, type ClientMessage, type ServerMessage } from '../protocol/signaling.js';
import type { LeaveReason, MemberSink } from '../rooms/member.js';
import type { RoomSession } from '../rooms/member-messages.js';
import { TokenBucket } from '../time/token-bucket.js';
import type { SignalingContext } from './context.js';
import { handlers } from './handlers.js';

/** Strikes (refused frames) come back at this rate, per second: a slip now and then never adds up. */
const STRIKE_REFILL_PER_SECOND = 0.1;
/** Refused joins (UNAUTHORIZED) in a row before the socket is closed with 1008: no token guessing on one socket. */
const MAX_REFUSED_JOINS = 5;
/** How long a dropped slow reader's close frame may take before its socket is cut, ms. */
const SLOW_READER_GRACE_MS = 1000;

/**
 * One /ws connection: frame limits, rate limiting, parsing, dispatch to the handler of each
 * message type, liveness pings. While it is in a room it is its member's sink: the room sends
 * through it and tells it when the member is out.
 */
export class SignalingSession implements MemberSink {
  readonly id: string;
  /** Its membership while in a room (here, or a proxy to the room's node). */
  member: RoomSession | undefined;
  /** A join is on its way (the room answers asynchronously). */
  joining = false;
  private readonly ownLog: Logger;
  private readonly bucket: TokenBucket;
  /** Bad frames allowed: abuseLimit at once, then one more per 10 s (strikes decay). */
  private readonly strikes: TokenBucket;
  /** Set once we decided to close: later frames are neither handled nor counted. */
  private closing = false;
  private alive = true;
  private closed = false;
  private joinTimer: NodeJS.Timeout | undefined;
  private refusedJoins = 0;
  /**
   * Messages that came while a join was on its way: a room on another node sends `joined` (and
   * an SFU its offer) before the join's own answer gets back here, and a quick client replies
   * to them. They are handled once the join settles, in order.
   */
  private early: ClientMessage[] = [];

  constructor(
    readonly ws: WebSocket,
    readonly ctx: SignalingContext,
    id: string,
  ) {
    this.id = id;
    this.ownLog = ctx.log.child({ peer: id });
    const rate = ctx.config.rateLimitPerSecond;
    this.bucket = new TokenBucket(rate, rate * 2);
    this.strikes = new TokenBucket(STRIKE_REFILL_PER_SECOND, ctx.config.abuseLimit);
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('pong', () => { this.alive = true; });
    ws.on('close', () => this.onClose());
    ws.on('error', (err) => this.log.debug({ err }, 'socket error'));
    this.armJoinTimer();
  }

  /** The member's logger (a child of its room's) while in a room, else the connection's. */
  get log(): Logger {
    return this.member?.log ?? this.ownLog;
  }

  /** Called by the server's ping timer: a client that missed the previous ping is dropped. */
  heartbeat(): void {
    if (!this.alive) {
      this.log.info('no pong since the last ping; dropping the connection');
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  send(message: ServerMessage): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > this.ctx.config.maxSendBufferBytes) {
      this.dropSlowReader();
      return;
    }
    this.ws.send(JSON.stringify(message));
    this.ctx.metrics.messages.inc({ type: message.type, direction: 'out' });
  }

  sendError(code: WireErrorCode, message: string, ref?: string): void {
    this.ctx.metrics.errors.inc({ code });
    this.send(errorMessage(code, message, ref));
  }

  /** Server shutdown or kick: close with a code the client's reconnect logic understands. */
  close(code: CloseCode, reason: string): void {
    this.closing = true;
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
  }

  /**
   * A client that leaves what we send unread would make us queue it without bound (signaling
   * has nothing to shed: every message matters), so past the limit it is dropped. The close
   * frame waits behind the unread bytes, so the socket is cut shortly after.
   */
  private dropSlowReader(): void {
    this.log.warn({ bufferedBytes: this.ws.bufferedAmount }, 'client does not read what it is sent; dropping it');
    this.ctx.metrics.slowReaders.inc();
    this.close(CLOSE_POLICY, 'not reading');
    setTimeout(() => this.ws.terminate(), SLOW_READER_GRACE_MS).unref();
  }

  /** The room admitted us. */
  joined(member: RoomSession): void {
    if (this.closed) {
      member.close('disconnected'); // the socket went while the join was on its way
      return;
    }
    this.member = member;
    this.refusedJoins = 0;
    this.disarmJoinTimer();
  }

  /** MemberSink: the member is out of its room (it left, its room closed...). */
  detached(reason: LeaveReason): void {
    this.member = undefined;
    // A deleted room's members were told (`room-closed`): their connection ends cleanly.
    if (reason === 'room-deleted') this.close(CLOSE_NORMAL, 'room deleted');
    else this.armJoinTimer();
  }

  /** Arms the idle timer: a socket that is in no room for `joinTimeoutMs` is closed. */
  private armJoinTimer(): void {
    clearTimeout(this.joinTimer);
    if (this.closed) return;
    this.joinTimer = setTimeout(() => {
      this.sendError('SIGNALING_TIMEOUT', `no join within ${this.ctx.joinTimeoutMs} ms`);
      this.close(closeCodeFor('SIGNALING_TIMEOUT'), 'join timeout');
    }, this.ctx.joinTimeoutMs);
    this.joinTimer.unref();
  }

  private disarmJoinTimer(): void {
    clearTimeout(this.joinTimer);
    this.joinTimer = undefined;
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    this.alive = true;
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer | ArrayBuffer).byteLength;
    let type: string | undefined;
    try {
      if (!this.bucket.take()) throw new CallpeerError('RATE_LIMITED', `more than ${this.ctx.config.rateLimitPerSecond} messages per second`);
      if (size > this.ctx.config.maxFrameBytes) throw new CallpeerError('MESSAGE_TOO_LARGE', `frame of ${size} bytes exceeds the ${this.ctx.config.maxFrameBytes}-byte limit`);
      if (isBinary) throw new CallpeerError('INVALID_MESSAGE', 'binary frames are not part of the signaling protocol; send JSON text');
      const msg: ClientMessage = parseClientMessage(data.toString());
      type = msg.type;
      this.ctx.metrics.messages.inc({ type, direction: 'in' });
      this.dispatch(msg);
    } catch (err) {
      this.refuse(err, type);
    }
  }

  /** The join settled (admitted or refused, and said so): what came meanwhile is handled now. */
  private joinSettled(): void {
    for (const msg of this.early.splice(0)) {
      if (this.closing) return;
      try {
        this.dispatch(msg);
      } catch (err) {
        this.refuse(err, msg.type);
      }
    }
  }

  private dispatch(msg: ClientMessage): void {
    if (this.joining && msg.type !== 'join' && msg.type !== 'ping') {
      this.early.push(msg);
      return;
    }
    const handler = handlers[msg.type] as (s: SignalingSession, m: ClientMessage) => void | Promise<void>;
    const done = handler(this, msg);
    if (!done) return;
    const refused = done.catch((err: unknown) => { if (!this.closed) this.refuse(err, msg.type); });
    // A join's refusal reaches the client before the answers to what it sent meanwhile.
    if (msg.type === 'join') void refused.then(() => this.joinSettled());
  }

  private refuse(err: unknown, type: string | undefined): void {
    const e = toCallpeerError(err);
    if (e.code === 'INTERNAL') this.log.error({ err }, 'handler failed');
    const code = (e.code as WireErrorCode);
    this.sendError(code, e.message, e.ref ?? type);
    if (code === 'UNAUTHORIZED' && ++this.refusedJoins >= MAX_REFUSED_JOINS) {
      this.log.warn({ refusedJoins: this.refusedJoins }, 'closing a connection after refused joins');
      this.close(closeCodeFor('UNAUTHORIZED'), 'too many refused joins');
      return;
    }
    // Refusals that stem from the client's behaviour count toward the abuse limit.
    if ((code === 'INVALID_MESSAGE' || code === 'RATE_LIMITED' || code === 'MESSAGE_TOO_LARGE' || code === 'INVALID_SDP') && !this.strikes.take()) {
      this.log.warn({ code }, 'closing a connection that keeps sending bad frames');
      this.close(CLOSE_POLICY, 'too many bad frames');
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.member?.close('disconnected');
    this.disarmJoinTimer();
    this.ctx.sessionClosed(this);
  }
}
