/**
 * A headless Node client of /ws/pcm: connects with its codec, rate and optional pair code (or,
 * v2, a room it joins as a `phone` participant), plays a frame source in real time (20 ms
 * frames, drift-free pacer) while paired or in the room, and hands every frame it hears to
 * listeners as Int16 samples at its own rate. It speaks only the wire protocol, so it works
 * against any callpeer server.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { CallpeerError, toCallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import { OpusDecoderStream, OpusEncoderStream } from '../media/opus.js';
import { bytesToInt16, int16ToBytes } from '../media/pcm.js';
import { CLOSE_NORMAL, mayReconnectAfter } from '../protocol/close-codes.js';
import { parsePcmServerMessage, PCM_MAX_FRAME_BYTES, PCM_MIN_FRAME_BYTES, type PcmCodec, type PcmRate, type PcmServerMessage } from '../protocol/pcm.js';
import { isValidRoomId, MAX_NAME_LENGTH, type Participant, type RoomClosedReason } from '../protocol/signaling.js';
import type { Clock } from '../time/clock.js';
import { Pacer } from '../time/pacer.js';
import type { PcmFrameSource } from '../media/frames.js';

export interface PcmClientOptions {
  /** The server: http(s)://host[:port], ws(s)://host[:port][/ws/pcm], or a /duo link (its pair code is used). */
  url: string;
  /** What this client sends and wants to receive. Default 'pcm'. */
  codec?: PcmCodec;
  /** Its sample rate, Hz. Default 48000. */
  rate?: PcmRate;
  /** Invite code: pair only with a client that gave the same one. */
  pair?: string;
  /** (v2) Join this WebRTC room as a `phone` participant instead of pairing (a /r/NAME link names it too). */
  room?: string;
  /** (v2) Display name in the room. */
  name?: string;
  token?: string;
  /** Accept a self-signed certificate on wss://. */
  insecure?: boolean;
  /** Opening the socket fails after this long, ms. Default 10000. */
  connectTimeoutMs?: number;
  /**
   * After the server dropped the socket (a restart, a network cut; not a refusal, a kick or a
   * deleted room), open it again with the same parameters and mute state, 250 ms doubling to
   * 2.5 s (+-20 %), until close(). Default: in a room (a phone in a call stays in it through a
   * server restart); a pairing ends with its socket (`closed`).
   */
  reconnect?: boolean;
  /** Paces the frames it sends (a test gives a device clock that runs fast or slow). */
  clock?: Clock;
  log?: Logger;
}

export interface PcmConnected {
  codec: PcmCodec; sampleRate: number; channels: number; frameMs: number;
  /** (v2) In a room: its id and this client's participant id. */
  room?: string; id?: string;
}

export interface PcmClientEvents {
  waiting: [];
  connected: [PcmConnected];
  /** The partner left; `waiting` follows. */
  disconnected: [];
  'peer-muted': [boolean];
  /** (v2) In a room: someone joined (after this client did). */
  'peer-joined': [Participant];
  /** (v2) In a room: a participant left; its id. */
  'peer-left': [string];
  /** (v2) The room was closed (deleted): the server then closes the socket. */
  'room-closed': [RoomClosedReason];
  /** (v2) A moderator removed this client from the room: the server then closes the socket. */
  'kicked': [string];
  /** An error message from the server (e.g. PAIR_FULL); the server may then close. */
  'server-error': [CallpeerError];
  /** A text frame from the server that is no valid message (INVALID_MESSAGE): ignored. */
  'invalid-message': [CallpeerError];
  /** Audio from the partner, at this client's rate. */
  audio: [Int16Array];
  /** The source ran out. */
  ended: [];
  /** (reconnect) The socket dropped (attempt 1) or the server is still unreachable; the next attempt is in `delayMs`. `connected` follows when back. */
  reconnecting: [{ code: number; delayMs: number; attempt: number }];
  closed: [{ code: number; reason: string }];
}

/** Audio unsent in the socket beyond this is real time lost: frames are skipped, not queued. */
const MAX_BUFFERED_BYTES = 64 * 1024;

/** The /ws/pcm URL for `link` and the client's parameters. */
export function pcmSocketUrl(link: string, params: { codec: PcmCodec; rate: number; pair?: string; room?: string; name?: string; token?: string }): string {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new CallpeerError('INVALID_CONFIG', `"${link}" is not a URL`, { hint: 'give the server like http://host:8080' });
  }
  const scheme = { 'http:': 'ws:', 'ws:': 'ws:', 'https:': 'wss:', 'wss:': 'wss:' }[url.protocol];
  if (!scheme) throw new CallpeerError('INVALID_CONFIG', `unsupported scheme "${url.protocol}" in "${link}"`, { hint: 'use http(s):// or ws(s)://' });
  const pair = params.pair ?? url.searchParams.get('pair') ?? undefined;
  if (pair !== undefined && !isValidRoomId(pair)) throw new CallpeerError('INVALID_CONFIG', `"${pair}" is not a valid pair code`, { hint: 'pair codes use letters, digits, "-" and "_" (1-64 characters)' });
  const fromPath = /^\/r\/([^/]+)\/?$/.exec(url.pathname)?.[1];
  const room = params.room ?? (fromPath === undefined ? undefined : safeDecode(fromPath));
  if (room !== undefined && !isValidRoomId(room)) throw new CallpeerError('INVALID_CONFIG', `"${room}" is not a valid room name`, { hint: 'room names use letters, digits, "-" and "_" (1-64 characters)' });
  if (room !== undefined && pair !== undefined) throw new CallpeerError('INVALID_CONFIG', 'a room and a pair code go one at a time', { hint: 'give --room to join a call, or --pair to pair with one client' });
  if (params.name !== undefined && room === undefined) throw new CallpeerError('INVALID_CONFIG', 'a name needs a room', { hint: 'add --room NAME (a name is shown to the others in a room; pairing has none)' });
  if (params.name !== undefined && (params.name === '' || params.name.length > MAX_NAME_LENGTH)) throw new CallpeerError('INVALID_CONFIG', `a name must be 1-${MAX_NAME_LENGTH} characters`, { hint: 'use a shorter --name' });
  const query = new URLSearchParams({ codec: params.codec, rate: String(params.rate) });
  if (pair !== undefined) query.set('pair', pair);
  if (room !== undefined) query.set('room', room);
  if (room !== undefined && params.name !== undefined) query.set('name', params.name);
  if (params.token !== undefined) query.set('token', params.token);
  return `${scheme}//${url.host}/ws/pcm?${query}`;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export class PcmClient extends EventEmitter<PcmClientEvents> {
  readonly codec: PcmCodec;
  readonly rate: PcmRate;
  readonly url: string;
  /** (v2) The room this client joins (from `room` or a /r/NAME link), else undefined: it pairs. */
  readonly room: string | undefined;
  private ws: WebSocket | undefined;
  private readonly pacer: Pacer;
  private source: PcmFrameSource | undefined;
  private encoder: OpusEncoderStream | undefined;
  private decoder: OpusDecoderStream | undefined;
  private paired = false;
  private muted = false;
  /** close() was called: no more reconnects. */
  private stopping = false;
  private attempts = 0;
  /** A first connect() that fails is an error to its caller, not something to retry. */
  private everOpened = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private closedInfo: Promise<{ code: number; reason: string }> | undefined;
  /** Frames sent, frames heard, frames skipped because the socket could not keep up. */
  readonly stats = { sent: 0, received: 0, skipped: 0 };

  constructor(private readonly options: PcmClientOptions) {
    super();
    this.codec = options.codec ?? 'pcm';
    this.rate = options.rate ?? 48000;
    this.url = pcmSocketUrl(options.url, { codec: this.codec, rate: this.rate, pair: options.pair, room: options.room, name: options.name, token: options.token });
    this.room = new URL(this.url).searchParams.get('room') ?? undefined;
    this.pacer = new Pacer(() => this.tick(), { ...(options.clock && { clock: options.clock }) });
  }

  /** True between `connected` and `disconnected`. */
  get isPaired(): boolean {
    return this.paired;
  }

  /** Opens the socket. Rejects with CONNECTION_FAILED if the server cannot be reached. */
  async connect(): Promise<void> {
    if (this.ws) throw new CallpeerError('CLOSED', 'connect() was already called');
    await this.open();
  }

  private async open(): Promise<void> {
    const ws = new WebSocket(this.url, {
      rejectUnauthorized: this.options.insecure !== true,
      handshakeTimeout: this.options.connectTimeoutMs ?? 10_000,
      maxPayload: PCM_MAX_FRAME_BYTES,
    });
    this.ws = ws;
    this.closedInfo = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data: Buffer, isBinary) => (isBinary ? this.onAudio(data) : this.onControl(data.toString())));
    ws.on('error', (err) => this.options.log?.debug({ err }, 'pcm socket error'));
    const opened = new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', (err) => reject(new CallpeerError('CONNECTION_FAILED', `cannot connect to ${this.url.replace(/\?.*/, '')}: ${err.message}`, { cause: err, hint: 'check the server address and that it is running' })));
    });
    void this.closedInfo.then((info) => this.onClosed(info));
    await opened;
    this.attempts = 0;
    this.everOpened = true;
  }

  /** The socket closed: open it again (reconnect, a drop), or end the client. */
  private onClosed(info: { code: number; reason: string }): void {
    this.setPaired(false);
    const again = (this.options.reconnect ?? this.room !== undefined) && this.everOpened && !this.stopping && info.code !== CLOSE_NORMAL && mayReconnectAfter(info.code);
    if (!again) {
      this.release();
      this.emit('closed', info);
      return;
    }
    const delayMs = Math.round(Math.min(2500, 250 * 2 ** this.attempts++) * (0.8 + Math.random() * 0.4));
    this.options.log?.info({ code: info.code, delayMs, attempt: this.attempts }, 'pcm connection lost; reconnecting');
    this.emit('reconnecting', { code: info.code, delayMs, attempt: this.attempts });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.open().catch(() => { /* onClosed schedules the next try */ });
    }, delayMs);
  }

  /** Plays `source` in real time whenever paired (the server would drop audio sent while waiting). */
  play(source: PcmFrameSource): void {
    if (this.codec === 'opus') this.encoder ??= new OpusEncoderStream(this.rate);
    this.source = source;
    if (this.paired) this.pacer.start();
  }

  /** Stops sending audio and tells the partner (`peer-muted`). */
  mute(muted: boolean): void {
    this.muted = muted;
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'mute', muted }));
  }

  /** Closes the socket (CLOSE_NORMAL, 1000) and resolves once it is closed. */
  async close(): Promise<void> {
    this.stopping = true;
    const pendingRetry = this.retryTimer !== undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const ws = this.ws;
    if (!ws || !this.closedInfo) return;
    this.pacer.stop();
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(CLOSE_NORMAL, 'bye');
    const cut = setTimeout(() => ws.terminate(), 2000);
    const info = await this.closedInfo;
    clearTimeout(cut);
    // Closed between reconnect attempts: its onClosed already ran, and scheduled what close() cancelled.
    if (pendingRetry) {
      this.release();
      this.emit('closed', info);
    }
  }

  private onControl(text: string): void {
    let msg: PcmServerMessage;
    try {
      msg = parsePcmServerMessage(text);
    } catch (err) {
      const e = toCallpeerError(err, 'INVALID_MESSAGE');
      this.options.log?.warn({ err: e }, 'ignoring a malformed pcm server message');
      this.emit('invalid-message', e);
      return;
    }
    switch (msg.type) {
      case 'waiting':
        this.emit('waiting');
        break;
      case 'connected':
        // Back after a reconnect: the partner or the room learns we are still muted.
        if (this.muted) this.ws?.send(JSON.stringify({ type: 'mute', muted: true }));
        this.setPaired(true);
        this.emit('connected', { codec: msg.codec, sampleRate: msg.sampleRate, channels: msg.channels, frameMs: msg.frameMs, ...(msg.room !== undefined && { room: msg.room, id: msg.id }) });
        break;
      case 'disconnected':
        this.setPaired(false);
        this.emit('disconnected');
        break;
      case 'peer-muted':
        this.emit('peer-muted', msg.muted);
        break;
      case 'peer-joined':
        this.emit('peer-joined', msg.participant);
        break;
      case 'peer-left':
        this.emit('peer-left', msg.id);
        break;
      case 'room-closed':
        this.setPaired(false);
        this.emit('room-closed', msg.reason);
        break;
      case 'kicked':
        this.setPaired(false);
        this.emit('kicked', msg.reason);
        break;
      case 'error':
        this.emit('server-error', new CallpeerError(msg.code, msg.message));
        break;
    }
  }

  private onAudio(data: Buffer): void {
    let samples: Int16Array;
    try {
      if (this.codec === 'opus') {
        this.decoder ??= new OpusDecoderStream(this.rate);
        samples = this.decoder.decode(data);
      } else {
        samples = bytesToInt16(data);
      }
    } catch (err) {
      this.options.log?.debug({ err, bytes: data.length }, 'pcm frame from the server could not be read');
      return;
    }
    this.stats.received++;
    this.emit('audio', samples);
  }

  private setPaired(paired: boolean): void {
    this.paired = paired;
    if (paired && this.source) this.pacer.start();
    if (!paired) this.pacer.stop();
  }

  private tick(): void {
    const ws = this.ws;
    const source = this.source;
    if (!ws || !source || ws.readyState !== WebSocket.OPEN) return;
    const frame = source.nextFrame();
    if (!frame) {
      this.pacer.stop();
      this.emit('ended');
      return;
    }
    if (this.muted) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.stats.skipped++;
      return;
    }
    // The source reuses its frame: PCM is copied, as the socket may hold it past this tick.
    const payload = this.encoder ? this.encoder.encode(frame) : Buffer.from(int16ToBytes(frame));
    if (payload.length < PCM_MIN_FRAME_BYTES) return;
    ws.send(payload, { binary: true });
    this.stats.sent++;
  }

  private release(): void {
    this.pacer.stop();
    this.encoder?.release();
    this.decoder?.release();
    this.encoder = undefined;
    this.decoder = undefined;
  }
}
