/**
 * What MeshAgent and SfuAgent share: the signaling connection, the room's participants as
 * the server last described them, joining, closing, and listener safety. Each adds its media:
 * one Peer per participant (mesh) or one Peer to the server (SFU).
 */
import { EventEmitter } from 'node:events';
import { toCallpeerError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { IceServer, JoinedMessage, Participant } from '../protocol/signaling.js';
import { joinParams, type AgentOptions } from './agent-options.js';
import { SignalingClient } from './signaling-client.js';

/** The events every agent emits. */
export interface AgentBaseEvents {
  /** In the room (again, after a reconnect: ids changed and media was set up anew). */
  joined: [JoinedMessage];
  'participant-joined': [Participant];
  'participant-left': [Participant];
  /** Signaling dropped; it reconnects by itself. */
  disconnected: [{ code: number; reason: string }];
  /** Closed for good. */
  closed: [];
}

export abstract class AgentBase<E extends AgentBaseEvents & Record<keyof E, unknown[]>> extends EventEmitter<E> {
  readonly client: SignalingClient;
  protected readonly participants = new Map<string, Participant>();
  protected readonly log: Logger;
  protected iceServers: IceServer[] = [];
  protected closed = false;

  /** `client`: one already connected and joined (see joinRoom), entered with adopt(). */
  constructor(protected readonly options: AgentOptions, client?: SignalingClient) {
    super();
    this.log = options.log ?? silentLogger();
    this.client = client ?? new SignalingClient(options.wsUrl, { ...options.signaling, log: this.log });
    this.client.on('peer-joined', (p) => {
      this.participants.set(p.id, p);
      this.emitBase('participant-joined', p);
    });
    this.client.on('peer-updated', (p) => {
      if (this.participants.has(p.id)) this.participants.set(p.id, p);
    });
    this.client.on('peer-left', (id) => {
      const p = this.participants.get(id);
      this.participants.delete(id);
      this.participantLeft(id);
      if (p) this.emitBase('participant-left', p);
    });
    this.client.on('disconnected', (d) => this.emitBase('disconnected', { code: d.code, reason: d.reason }));
    this.client.on('rejoined', (joined) => {
      // New ids on both sides: every old connection is stale.
      this.closeMedia();
      this.enter(joined);
    });
    this.client.on('closed', () => {
      if (!this.closed) void this.close();
    });
    this.client.on('server-error', (e) => this.log.warn({ code: e.code, ref: e.ref }, e.message));
  }

  /** Our participant id in the room. */
  get id(): string | undefined {
    return this.client.id;
  }

  /** Connects and joins; rejects with the server's code (ROOM_FULL, …) or CONNECTION_FAILED. */
  async start(): Promise<JoinedMessage> {
    await this.client.connect();
    const joined = await this.client.join(joinParams(this.options));
    await this.accept(joined);
    this.enter(joined);
    return joined;
  }

  /** Takes up a join made by the caller on our client (joinRoom). */
  adopt(joined: JoinedMessage): void {
    this.enter(joined);
  }

  /** Everyone else in the room, as the server last described them. */
  roomParticipants(): Participant[] {
    return [...this.participants.values()];
  }

  /** Leaves the room, closes every Peer and the signaling connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closeMedia();
    await this.client.close();
    this.emitBase('closed');
    this.removeAllListeners();
  }

  /** Refuses a room this agent cannot serve (after closing); by default any room will do. */
  protected async accept(_joined: JoinedMessage): Promise<void> {}

  /** Sets up media for a (re-)join. */
  protected abstract startMedia(joined: JoinedMessage): void;

  /** Closes every Peer (leaving, or a re-join made them stale). */
  protected abstract closeMedia(): void;

  /** A participant left the room. */
  protected participantLeft(_id: string): void {}

  /** Listeners are user code: one that throws is logged, never breaks the agent. */
  protected safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    try {
      (this.emit as unknown as (e: K, ...a: E[K]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ err: toCallpeerError(err), event }, 'listener threw');
    }
  }

  private emitBase<K extends keyof AgentBaseEvents>(event: K, ...args: AgentBaseEvents[K]): void {
    (this.safeEmit as (e: K, ...a: AgentBaseEvents[K]) => void)(event, ...args);
  }

  private enter(joined: JoinedMessage): void {
    this.iceServers = joined.iceServers;
    this.participants.clear();
    for (const p of joined.participants) this.participants.set(p.id, p);
    this.emitBase('joined', joined);
    this.startMedia(joined);
  }
}
