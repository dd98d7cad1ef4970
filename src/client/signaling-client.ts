import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { CallpeerError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { CLOSE_NORMAL, mayReconnectAfter } from '../protocol/close-codes.js';
import {
  parseServerMessage, type ChatLine, type ClientMessage, type ErrorMessage, type JoinedMessage, type JoinMessage,
  type MutedByServerMessage, type Participant, type QualityMessage, type RelayedAnswer, type RelayedCandidate, type RelayedOffer,
  type RemovedByServer, type ServerMessage, type TracksMessage, type LayerChangedMessage, type PublishLayersMessage,
} from '../protocol/signaling.js';

export type JoinParams = Omit<JoinMessage, 'type'>;

export interface SignalingClientOptions {
  log?: Logger;
  /** Reconnect after an unexpected close, re-joining the room. Default true. */
  reconnect?: boolean;
  /** Backoff between reconnect attempts, ms: starts at min, doubles (with ±20 % jitter) up to max. Defaults 250 / 10000. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Give up after this many failed attempts in a row (default Infinity). */
  maxAttempts?: number;
  /** How long to wait for the socket to open and for `joined`, ms. Default 10000. */
  timeoutMs?: number;
  /** Extra headers on the upgrade (e.g. Origin). */
  headers?: Record<string, string>;
  /** Accept a self-signed certificate on wss:// (development). Default false. */
  insecure?: boolean;
}

export interface SignalingClientEvents {
  joined: [JoinedMessage];
  'peer-joined': [Participant];
  'peer-left': [string];
  'peer-updated': [Participant];
  offer: [RelayedOffer];
  answer: [RelayedAnswer];
  candidate: [RelayedCandidate];
  chat: [ChatLine];
  quality: [QualityMessage];
  /** An error the server sent that no pending request claimed. */
  'server-error': [ErrorMessage];
  /** The socket dropped unexpectedly; a reconnect is scheduled after `delayMs` (if enabled). */
  disconnected: [{ code: number; reason: string; delayMs: number | undefined }];
  /** Reconnected and re-joined: ids changed, so peers must be renegotiated. */
  rejoined: [JoinedMessage];
  /** Kicked, or the room was deleted: out of the room for good (no re-join after a reconnect). */
  removed: [RemovedByServer];
  /** A moderator muted us (the room API): stop sending what it names. */
  'muted-by-server': [MutedByServerMessage];
  /** (v2, SFU rooms) The room's tracks, whole. */
  tracks: [TracksMessage];
  /** (v2, SFU rooms) The layer forwarded on one of our subscriptions changed. */
  layer: [LayerChangedMessage];
  /** (v2, SFU rooms) Layers of our own track that somebody receives. */
  'publish-layers': [PublishLayersMessage];
  /** Closed for good (close() was called, reconnect disabled, or attempts exhausted). */
  closed: [{ code: number; reason: string }];
}

interface Pending {
  resolve: (m: JoinedMessage) => void;
  reject: (e: CallpeerError) => void;
  timer: NodeJS.Timeout;
}

/**
 * A typed, promise-based client of the /ws signaling protocol for Node: bots, the recorder and
 * the load tester stand on it. It reconnects with backoff and re-joins its room after a drop.
 */
function addressed(to: string | undefined): { to?: string } {
  return to === undefined ? {} : { to };
}

export class SignalingClient extends EventEmitter<SignalingClientEvents> {
  private ws: WebSocket | undefined;
  private readonly log: Logger;
  private readonly opts: Required<Omit<SignalingClientOptions, 'log' | 'headers'>> & { headers: Record<string, string> };
  private joinParams: JoinParams | undefined;
  /** The server said our room was deleted: its close of the socket is final. */
  private roomDeleted = false;
  private pendingJoin: Pending | undefined;
  private readonly pings = new Map<number, { sent: number; resolve: (rtt: number) => void; reject: (e: CallpeerError) => void; timer: NodeJS.Timeout }>();
  private pingSeq = 0;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closedByUser = false;
  /** Reconnecting only makes sense once a first connection worked; a failed connect() just rejects. */
  private hasConnected = false;
  /** Our id in the current room. */
  id: string | undefined;
  /** The last `joined` (room info and ICE servers). */
  session: JoinedMessage | undefined;

  constructor(readonly url: string, options: SignalingClientOptions = {}) {
    super();
    this.log = options.log ?? silentLogger();
    this.opts = {
      reconnect: options.reconnect ?? true,
      minBackoffMs: options.minBackoffMs ?? 250,
      // A restarted server is found within 3 s of coming back (2.5 s, +-20 % jitter).
      maxBackoffMs: options.maxBackoffMs ?? 2_500,
      maxAttempts: options.maxAttempts ?? Infinity,
      timeoutMs: options.timeoutMs ?? 10_000,
      insecure: options.insecure ?? false,
      headers: options.headers ?? {},
    };
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Opens the socket. Rejects with CONNECTION_FAILED when the server cannot be reached. */
  connect(): Promise<void> {
    this.closedByUser = false;
    return this.open();
  }

  /** Joins a room; resolves with `joined`, rejects with the server's error code (ROOM_FULL, …). */
  join(params: JoinParams): Promise<JoinedMessage> {
    if (this.pendingJoin) return Promise.reject(new CallpeerError('ALREADY_JOINED', 'a join is already under way'));
    this.joinParams = { ...params };
    return this.sendJoin();
  }

  /** Leaves the room but keeps the socket (it can join again). */
  leave(): void {
    this.joinParams = undefined;
    this.id = undefined;
    this.send({ type: 'leave' });
  }

  /** `to` is a participant id in a mesh room; undefined in an SFU room (the server is the other side). */
  offer(to: string | undefined, sdp: string): void { this.send({ type: 'offer', ...addressed(to), sdp }); }
  answer(to: string | undefined, sdp: string): void { this.send({ type: 'answer', ...addressed(to), sdp }); }
  candidate(to: string | undefined, candidate: string, mid: string): void { this.send({ type: 'candidate', ...addressed(to), candidate, mid }); }
  media(state: { audio?: boolean; video?: boolean; screen?: boolean }): void {
    // A re-join (after the server restarted) announces what we send now, not what we joined with.
    if (this.joinParams) {
      if (state.audio !== undefined) this.joinParams.audio = state.audio;
      if (state.video !== undefined) this.joinParams.video = state.video;
    }
    this.send({ type: 'media', ...state });
  }
  chat(text: string): void { this.send({ type: 'chat', text }); }

  /** Round trip through the server, ms. */
  ping(timeoutMs = this.opts.timeoutMs): Promise<number> {
    const id = ++this.pingSeq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(id);
        reject(new CallpeerError('TIMEOUT', `no pong within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pings.set(id, { sent: performance.now(), resolve, reject, timer });
      this.send({ type: 'ping', id });
    });
  }

  /** Sends a message; throws CONNECTION_FAILED when the socket is not open. */
  send(message: ClientMessage): void {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      throw new CallpeerError('CONNECTION_FAILED', `cannot send "${message.type}": not connected to ${this.url}`);
    }
    this.ws.send(JSON.stringify(message));
  }

  /** Leaves (if joined) and closes for good. Pending requests reject with CLOSED. */
  async close(): Promise<void> {
    this.closedByUser = true;
    clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    this.failPending(new CallpeerError('CLOSED', 'client closed'));
    if (!ws || ws.readyState === WebSocket.CLOSED) {
      this.emit('closed', { code: CLOSE_NORMAL, reason: 'closed' });
      return;
    }
    if (ws.readyState === WebSocket.OPEN && this.joinParams) {
      try { this.send({ type: 'leave' }); } catch { /* socket went away meanwhile */ }
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => { ws.terminate(); resolve(); }, 1000);
      ws.once('close', () => { clearTimeout(t); resolve(); });
      ws.close(CLOSE_NORMAL, 'bye');
    });
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, { headers: this.opts.headers, rejectUnauthorized: !this.opts.insecure, handshakeTimeout: this.opts.timeoutMs });
      this.ws = ws;
      let opened = false;
      ws.on('open', () => {
        opened = true;
        this.hasConnected = true;
        this.attempts = 0;
        resolve();
      });
      ws.on('message', (data) => this.onMessage(data.toString()));
      ws.on('error', (err) => {
        this.log.debug({ err }, 'signaling socket error');
        if (!opened) reject(new CallpeerError('CONNECTION_FAILED', `cannot reach ${this.url}: ${err.message}`, { cause: err, hint: 'check that `callpeer serve` runs there and the URL is right' }));
      });
      ws.on('close', (code, reasonBuf) => {
        if (this.ws !== ws) return;
        const reason = reasonBuf.toString();
        if (!opened) {
          if (this.hasConnected) this.scheduleReconnect(code, reason, false);
          return;
        }
        this.onClose(code, reason);
      });
    });
  }

  private sendJoin(): Promise<JoinedMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingJoin = undefined;
        reject(new CallpeerError('TIMEOUT', `no answer to join within ${this.opts.timeoutMs} ms`));
      }, this.opts.timeoutMs);
      this.pendingJoin = { resolve, reject, timer };
      try {
        this.send({ type: 'join', ...this.joinParams! });
      } catch (err) {
        clearTimeout(timer);
        this.pendingJoin = undefined;
        reject(err as CallpeerError);
      }
    });
  }

  private onMessage(text: string): void {
    let msg: ServerMessage;
    try {
      msg = parseServerMessage(text);
    } catch (err) {
      this.log.warn({ err }, 'ignoring a malformed server message');
      return;
    }
    switch (msg.type) {
      case 'joined': {
        this.id = msg.id;
        this.session = msg;
        const pending = this.pendingJoin;
        this.pendingJoin = undefined;
        if (pending) { clearTimeout(pending.timer); pending.resolve(msg); }
        this.emit('joined', msg);
        break;
      }
      case 'error': {
        const pending = this.pendingJoin;
        if (pending && msg.ref === 'join') {
          this.pendingJoin = undefined;
          this.joinParams = undefined;
          clearTimeout(pending.timer);
          pending.reject(new CallpeerError(msg.code as ErrorCode, msg.message, { ref: msg.ref }));
        } else {
          this.emit('server-error', msg);
        }
        break;
      }
      case 'pong': {
        const p = typeof msg.id === 'number' ? this.pings.get(msg.id) : undefined;
        if (p) {
          this.pings.delete(msg.id as number);
          clearTimeout(p.timer);
          p.resolve(performance.now() - p.sent);
        }
        break;
      }
      case 'peer-joined': this.emit('peer-joined', msg.participant); break;
      case 'peer-left': this.emit('peer-left', msg.id); break;
      case 'peer-updated': this.emit('peer-updated', msg.participant); break;
      case 'offer': this.emit('offer', msg); break;
      case 'answer': this.emit('answer', msg); break;
      case 'candidate': this.emit('candidate', msg); break;
      case 'chat': this.emit('chat', msg); break;
      case 'quality': this.emit('quality', msg); break;
      case 'muted-by-server': this.emit('muted-by-server', msg); break;
      case 'tracks': this.emit('tracks', msg); break;
      case 'layer': this.emit('layer', msg); break;
      case 'publish-layers': this.emit('publish-layers', msg); break;
      case 'kicked':
      case 'room-closed':
        // Re-joining would undo what a moderator did: forget the room.
        this.joinParams = undefined;
        this.id = undefined;
        // A deleted room's socket is closed next (1000): that close is the end, not a drop.
        if (msg.type === 'room-closed') this.roomDeleted = true;
        this.emit('removed', msg.type === 'kicked'
          ? { reason: 'kicked', message: `removed from the call by a moderator: ${msg.reason}` }
          : { reason: 'room-closed', message: 'the room was closed (deleted by a moderator)' });
        break;
    }
  }

  private onClose(code: number, reason: string): void {
    this.id = undefined;
    this.failPending(new CallpeerError('CONNECTION_FAILED', `connection closed (${code}${reason ? ` ${reason}` : ''})`));
    if (this.closedByUser || this.roomDeleted) {
      this.emit('closed', { code, reason });
      return;
    }
    this.scheduleReconnect(code, reason, true);
  }

  private scheduleReconnect(code: number, reason: string, announce: boolean): void {
    if (this.closedByUser) return;
    // A policy close (1008) is the server telling us we misbehaved: reconnecting would repeat it.
    if (!this.opts.reconnect || !mayReconnectAfter(code) || this.attempts >= this.opts.maxAttempts) {
      this.emit('closed', { code, reason });
      return;
    }
    const base = Math.min(this.opts.maxBackoffMs, this.opts.minBackoffMs * 2 ** this.attempts);
    const delayMs = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempts++;
    if (announce || this.attempts === 1) this.emit('disconnected', { code, reason, delayMs });
    this.log.info({ code, delayMs, attempt: this.attempts }, 'signaling connection lost; reconnecting');
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.open().then(async () => {
        if (!this.joinParams) return;
        const joined = await this.sendJoin();
        this.emit('rejoined', joined);
      }).catch((err) => this.log.debug({ err }, 'reconnect attempt failed'));
    }, delayMs);
  }

  private failPending(err: CallpeerError): void {
    const pending = this.pendingJoin;
    this.pendingJoin = undefined;
    if (pending) { clearTimeout(pending.timer); pending.reject(err); }
    for (const [id, p] of this.pings) {
      clearTimeout(p.timer);
      this.pings.delete(id);
      p.reject(err);
    }
  }
}
