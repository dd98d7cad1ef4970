/**
 * What MeshAgent and SfuAgent share: the signaling connection, the room's participants as
 * the server last described them, joining, closing, listener safety, and the common events
 * (AgentEvents) of their links and remote tracks. Each adds its media: one Peer per
 * participant (mesh) or one Peer to the server (SFU).
 */
import { EventEmitter } from 'node:events';
import { safeEmit, silentLogger, type Logger } from '../log.js';
import type { IceServer, JoinedMessage, Participant, Topology } from '../protocol/signaling.js';
import type { MediaTrack } from '../rtc/media-track.js';
import type { PeerSignal } from '../rtc/peer.js';
import type { AgentEvents, AgentLink, RemoteTrack } from './agent-events.js';
import { joinParams, type AgentOptions } from './agent-options.js';
import { SignalingClient } from './signaling-client.js';

export abstract class AgentBase<E extends AgentEvents & Record<keyof E, unknown[]>> extends EventEmitter<E> {
  readonly client: SignalingClient;
  protected readonly participants = new Map<string, Participant>();
  protected readonly log: Logger;
  protected iceServers: IceServer[] = [];
  protected closed = false;
  /** Every open link and the remote tracks on it. */
  private readonly links = new Map<AgentLink, Set<RemoteTrack>>();

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
      // SFU: their forwarded tracks stay negotiated but idle (mesh: their link closed already).
      this.removeTracks((t) => t.participant.id === id);
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
    this.client.on('muted-by-server', (m) => this.emitBase('muted-by-server', m));
    this.client.on('quality', (q) => this.emitBase('quality', q));
    this.client.on('removed', (r) => {
      this.log.info({ reason: r.reason }, r.message);
      this.emitBase('removed', r);
      void this.close();
    });
  }

  /** The room's topology, as this agent serves it. */
  abstract get topology(): Topology;

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

  /**
   * Takes up a new link, before it negotiates: its Peer's signals go out over signaling (to
   * its participant, or to the server), its events become link-negotiated, link-connected and
   * link-closed (after track-removed for each of its tracks). Emits link-opened.
   */
  protected openLink(link: AgentLink): void {
    const { peer } = link;
    const to = link.participant?.id;
    const where = to === undefined ? {} : { peer: to };
    this.links.set(link, new Set());
    peer.on('signal', (s) => this.signal(to, s, where));
    peer.on('negotiated', () => this.emitBase('link-negotiated', link));
    peer.on('connected', () => this.emitBase('link-connected', link));
    peer.on('error', (err) => this.log.warn({ err, ...where }, 'connection failed'));
    peer.on('closed', (reason) => {
      this.removeTracks((t) => t.link === link);
      this.links.delete(link);
      this.emitBase('link-closed', link, reason);
    });
    this.emitBase('link-opened', link);
  }

  /** `participant`'s media arrived on `link`: emits track-added. */
  protected addTrack(link: AgentLink, participant: Participant, track: MediaTrack, id?: string): void {
    const tracks = this.links.get(link);
    if (!tracks) return;
    const remote: RemoteTrack = { participant, kind: track.kind, track, link, ...(id !== undefined && { id }) };
    tracks.add(remote);
    this.emitBase('track-added', remote);
  }

  /** Ends the remote tracks `which` picks: emits track-removed for each. */
  protected removeTracks(which: (t: RemoteTrack) => boolean): void {
    for (const tracks of this.links.values()) {
      for (const t of [...tracks]) {
        if (!which(t)) continue;
        tracks.delete(t);
        this.emitBase('track-removed', t);
      }
    }
  }

  /** A participant as the server last described them; if it has not (not expected), one under their id that announced nothing. */
  protected participantOf(id: string): Participant {
    return this.participants.get(id) ?? { id, name: id, role: 'participant', audio: false, video: false, screen: false, metadata: {} };
  }

  /** Listeners are user code: one that throws is logged, never breaks the agent. */
  protected safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    safeEmit(this as EventEmitter<E>, this.log, event, ...args);
  }

  private emitBase<K extends keyof AgentEvents & string>(event: K, ...args: AgentEvents[K]): void {
    safeEmit(this as unknown as EventEmitter<AgentEvents>, this.log, event, ...args);
  }

  /** Sends a Peer's description or candidate to `to` (undefined: the server). */
  private signal(to: string | undefined, s: PeerSignal, where: object): void {
    try {
      if (s.kind === 'description') {
        if (s.type === 'offer') this.client.offer(to, s.sdp);
        else this.client.answer(to, s.sdp);
      } else {
        this.client.candidate(to, s.candidate, s.mid);
      }
    } catch (err) {
      // Signaling is down: the reconnect path renegotiates everything.
      this.log.debug({ err, ...where }, 'signal not sent');
    }
  }

  private enter(joined: JoinedMessage): void {
    this.iceServers = joined.iceServers;
    this.participants.clear();
    for (const p of joined.participants) this.participants.set(p.id, p);
    this.emitBase('joined', joined);
    this.startMedia(joined);
  }
}
