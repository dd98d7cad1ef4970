/**
 * `callpeer bridge`: a room connected to a voice agent's media WebSocket (PROTOCOL.md "The PCM
 * gateway"). The bridge joins the room as a `bot` (a WebRTC member, mesh or SFU), sends the
 * agent the mix of everyone in the room every 20 ms, and plays what the agent says into the
 * room through a play queue (marks, `clear` for barge-in).
 *
 * The agent's socket: dialled before the room is joined (an agent that cannot be reached
 * fails the start, nobody sees a silent bot come and go). Closed by the agent with 1000, the
 * agent has ended the call: the bridge leaves the room. Dropped any other way, the bridge
 * dials again after 0.5, 1 and 2 s, each time as a new stream (a new streamSid; what was
 * queued is dropped, its marks answered cleared), and leaves the room if all three fail.
 *
 * Usable as a library: `new Bridge({ wsUrl, room, to: 'wss://agent/media', dialect: 'twilio' }).start()`.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { AgentOptions } from '../../client/agent-options.js';
import { CallpeerError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { EncodedSource } from '../../media/opus-sources.js';
import type { JoinedMessage, Participant, RemovedByServer } from '../../protocol/signaling.js';
import { Pacer } from '../../time/pacer.js';
import { Bot } from '../bot.js';
import { RawDialect, TwilioDialect, type AgentDialect, type BridgeDialectName } from './dialects.js';
import { PlayQueue } from './play-queue.js';
import { RoomMix } from './room-mix.js';

export interface BridgeOptions extends Omit<AgentOptions, 'role' | 'log' | 'audio' | 'video'> {
  /** The agent's media WebSocket, ws(s)://… */
  to: string;
  dialect: BridgeDialectName;
  /** `raw`: the agent's sample rate both ways. Default 16000. */
  rate?: number;
  /** `twilio`: sent in `start.customParameters` (the room's name is added as `room`). */
  customParameters?: Record<string, string>;
  /** Agent audio waiting to play, ms, before the oldest is dropped. Default 30000 (agents send speech faster than real time). */
  maxQueuedMs?: number;
  /** Delays before dialling the agent again after its socket dropped, ms. Default [500, 1000, 2000]. */
  redialDelaysMs?: number[];
  log?: Logger;
}

export type BridgeEndReason = 'closed' | 'agent-ended' | 'agent-lost' | 'removed' | 'connection-lost';

export interface BridgeEvents {
  joined: [JoinedMessage];
  'participant-joined': [Participant];
  'participant-left': [Participant];
  /** A stream to the agent started (again, after a redial). */
  'agent-connected': [{ streamSid: string | undefined; attempt: number }];
  /** The agent's socket dropped; the bridge dials again. */
  'agent-dropped': [{ code: number }];
  /** A mark was answered: played, or cleared before it played. */
  mark: [{ name: string; cleared: boolean }];
  /** Kicked, or the room was deleted. */
  removed: [RemovedByServer];
  closed: [{ reason: BridgeEndReason }];
}

const DEFAULT_REDIAL_MS = [500, 1000, 2000];
const CONNECT_TIMEOUT_MS = 10_000;

export class Bridge extends EventEmitter<BridgeEvents> {
  private readonly log: Logger;
  private readonly queue: PlayQueue;
  private readonly mix = new RoomMix();
  private readonly bot: Bot;
  private readonly pacer: Pacer;
  private ws: WebSocket | undefined;
  private dialect: AgentDialect | undefined;
  private closing = false;
  /** Frames the agent sent that were refused, over every stream. */
  private refusedBefore = 0;

  constructor(private readonly options: BridgeOptions) {
    super();
    this.log = options.log ?? silentLogger();
    if (options.dialect !== 'twilio' && options.dialect !== 'raw') throw new CallpeerError('INVALID_CONFIG', `unknown dialect "${String(options.dialect)}"`, { hint: 'use twilio or raw' });
    this.queue = new PlayQueue({
      maxQueuedMs: options.maxQueuedMs ?? 30_000,
      onMark: (name, cleared) => {
        if (this.closing) return;
        this.dialect?.answerMark(name, cleared);
        this.emit('mark', { name, cleared });
      },
    });
    this.bot = new Bot({
      ...options,
      name: options.name ?? 'callpeer bridge',
      source: new EncodedSource(this.queue),
      listen: (from, seq, payload) => this.mix.hear(from, seq, payload),
      log: this.log,
    });
    this.bot.on('joined', (j) => this.emit('joined', j));
    this.bot.on('participant-joined', (p) => this.emit('participant-joined', p));
    this.bot.on('participant-left', (p) => { this.mix.remove(p.id); this.emit('participant-left', p); });
    this.bot.on('removed', (r) => { this.emit('removed', r); void this.close('removed'); });
    this.bot.on('closed', () => { void this.close('connection-lost'); });
    this.pacer = new Pacer(() => this.dialect?.sendMix(this.mix.mix()));
  }

  /** Audio waiting to be played into the room, ms, and what was dropped. */
  stats(): { queuedMs: number; droppedMs: number; refused: number; streamSid: string | undefined } {
    return { queuedMs: this.queue.queuedMs, droppedMs: this.queue.droppedMs, refused: this.refusedBefore + (this.dialect?.refused ?? 0), streamSid: this.dialect?.streamSid };
  }

  /** Dials the agent, then joins the room. Rejects with CONNECTION_FAILED (the agent) or the room's refusal. */
  async start(): Promise<JoinedMessage> {
    await this.dial(0);
    let joined: JoinedMessage;
    try {
      joined = await this.bot.start();
    } catch (err) {
      await this.close('closed');
      throw err;
    }
    this.pacer.start();
    return joined;
  }

  /** Ends the agent's stream (`stop`), leaves the room. Idempotent. */
  async close(reason: BridgeEndReason = 'closed'): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.pacer.stop();
    this.dialect?.stop();
    this.ws?.close(1000, 'bridge closed');
    this.queue.clear();
    this.mix.close();
    await this.bot.close();
    this.emit('closed', { reason });
  }

  private async dial(attempt: number): Promise<void> {
    const ws = new WebSocket(this.options.to, { handshakeTimeout: CONNECT_TIMEOUT_MS });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', (err) => reject(new CallpeerError('CONNECTION_FAILED', `could not reach the agent at ${this.options.to}: ${err.message}`, { hint: 'check --to and that the agent is listening' })));
    });
    if (this.closing) {
      ws.close(1000);
      return;
    }
    ws.on('error', (err) => this.log.debug({ err }, 'agent socket error'));
    this.ws = ws;
    if (this.dialect) this.refusedBefore += this.dialect.refused;
    const ctx = { ws, queue: this.queue, log: this.log };
    const dialect: AgentDialect = this.options.dialect === 'twilio'
      ? new TwilioDialect(ctx, { ...this.options.customParameters, room: this.options.room })
      : new RawDialect(ctx, this.options.rate ?? 16000);
    this.dialect = dialect;
    ws.on('message', (data: Buffer, isBinary) => dialect.receive(data, isBinary));
    ws.on('close', (code) => this.onAgentClosed(ws, code));
    this.log.info({ to: this.options.to, dialect: this.options.dialect, streamSid: dialect.streamSid, attempt }, 'agent connected');
    this.emit('agent-connected', { streamSid: dialect.streamSid, attempt });
  }

  private onAgentClosed(ws: WebSocket, code: number): void {
    if (this.closing || ws !== this.ws) return;
    this.dialect = undefined;
    if (code === 1000) {
      this.log.info('the agent ended the stream; leaving the room');
      void this.close('agent-ended');
      return;
    }
    this.log.warn({ code }, 'agent socket dropped; dialling again');
    this.emit('agent-dropped', { code });
    this.queue.clear();
    void this.redial();
  }

  private async redial(): Promise<void> {
    const delays = this.options.redialDelaysMs ?? DEFAULT_REDIAL_MS;
    for (const [i, delay] of delays.entries()) {
      await new Promise((r) => setTimeout(r, delay));
      if (this.closing) return;
      try {
        await this.dial(i + 1);
        return;
      } catch (err) {
        this.log.warn({ err: (err as Error).message, attempt: i + 1 }, 'agent redial failed');
      }
    }
    this.log.error('the agent could not be reached again; leaving the room');
    await this.close('agent-lost');
  }
}
