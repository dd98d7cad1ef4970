import { EventEmitter } from 'node:events';
import { CallpeerError, toCallpeerError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { IceServer, JoinedMessage, Participant } from '../protocol/signaling.js';
import type { MediaTrack } from '../rtc/media-track.js';
import { Peer, type PeerCloseReason } from '../rtc/peer.js';
import { joinParams, RETRY_DELAYS_MS, type AgentOptions } from './agent-options.js';
import { toNdcIceServers } from './mesh-agent.js';
import { SignalingClient } from './signaling-client.js';

export type SfuAgentOptions = AgentOptions;

export interface SfuAgentEvents {
  /** In the room (again, after a reconnect). */
  joined: [JoinedMessage];
  'participant-joined': [Participant];
  'participant-left': [Participant];
  /** The connection to the server was made; add tracks here (before it negotiates). */
  server: [Peer];
  /** A publisher's audio, forwarded by the server (the track's stream id names the publisher). */
  track: [publisher: string, MediaTrack];
  /** An offer/answer exchange with the server completed (attach senders here). */
  negotiated: [Peer];
  connected: [Peer];
  'server-closed': [Peer, PeerCloseReason];
  /** Signaling dropped; it reconnects by itself. */
  disconnected: [{ code: number; reason: string }];
  closed: [];
}

/**
 * A Node member of an SFU room (PROTOCOL.md): one Peer, to the server. It offers its audio
 * (send-only when it publishes, receive-only otherwise); the server then offers one track
 * per publisher, each named by the publisher's id. A connection that fails is made again,
 * like MeshAgent's (libdatachannel's occasional DTLS refusal).
 */
export class SfuAgent extends EventEmitter<SfuAgentEvents> {
  readonly client: SignalingClient;
  private peer: Peer | undefined;
  private readonly participants = new Map<string, Participant>();
  private readonly log: Logger;
  private iceServers: IceServer[] = [];
  private closed = false;
  private retries = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  /** `client`: one already connected and joined (see joinRoom), entered with adopt(). */
  constructor(private readonly options: SfuAgentOptions, client?: SignalingClient) {
    super();
    this.log = options.log ?? silentLogger();
    this.client = client ?? new SignalingClient(options.wsUrl, { ...options.signaling, log: this.log });
    this.client.on('peer-joined', (p) => {
      this.participants.set(p.id, p);
      this.safeEmit('participant-joined', p);
    });
    this.client.on('peer-updated', (p) => {
      if (this.participants.has(p.id)) this.participants.set(p.id, p);
    });
    this.client.on('peer-left', (id) => {
      const p = this.participants.get(id);
      this.participants.delete(id);
      if (p) this.safeEmit('participant-left', p);
    });
    this.client.on('offer', (m) => this.onDescription(m.sdp, 'offer'));
    this.client.on('answer', (m) => this.onDescription(m.sdp, 'answer'));
    this.client.on('candidate', (m) => this.peer?.addRemoteCandidate(m.candidate, m.mid));
    this.client.on('disconnected', (d) => this.safeEmit('disconnected', { code: d.code, reason: d.reason }));
    this.client.on('rejoined', (joined) => {
      this.closePeer();
      this.enter(joined);
    });
    this.client.on('closed', () => {
      if (!this.closed) void this.close();
    });
    this.client.on('server-error', (e) => this.log.warn({ code: e.code, ref: e.ref }, e.message));
  }

  get id(): string | undefined {
    return this.client.id;
  }

  /** The connection to the server, once made. */
  get server(): Peer | undefined {
    return this.peer;
  }

  /** Connects and joins; rejects with the server's code, or SFU_NOT_ENABLED for a mesh room. */
  async start(): Promise<JoinedMessage> {
    await this.client.connect();
    const joined = await this.client.join(joinParams(this.options));
    if (joined.room.topology !== 'sfu') {
      await this.close();
      throw new CallpeerError('SFU_NOT_ENABLED', `room "${joined.room.id}" is a ${joined.room.topology} room`, { hint: 'use a mesh agent for it' });
    }
    this.enter(joined);
    return joined;
  }

  /** Takes up a join made by the caller on our client (joinRoom): connects to the server. */
  adopt(joined: JoinedMessage): void {
    this.enter(joined);
  }

  roomParticipants(): Participant[] {
    return [...this.participants.values()];
  }

  /** Stops or resumes the server forwarding `publisher`'s audio to us. */
  setSubscribed(publisher: string, wanted: boolean): void {
    this.client.send({ type: wanted ? 'subscribe' : 'unsubscribe', publisher, track: 'audio' });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.closePeer();
    await this.client.close();
    this.safeEmit('closed');
    this.removeAllListeners();
  }

  private enter(joined: JoinedMessage): void {
    this.iceServers = joined.iceServers;
    this.participants.clear();
    for (const p of joined.participants) this.participants.set(p.id, p);
    this.safeEmit('joined', joined);
    this.connect();
  }

  private connect(): void {
    const peer = new Peer({
      iceServers: this.iceServers.flatMap(toNdcIceServers),
      ...this.options.peer,
      ...this.options.sfuPeer,
      id: 'server',
      logger: this.log,
      polite: true,
    });
    this.peer = peer;
    peer.on('signal', (s) => {
      try {
        if (s.kind === 'description') {
          if (s.type === 'offer') this.client.offer(undefined, s.sdp);
          else this.client.answer(undefined, s.sdp);
        } else {
          this.client.candidate(undefined, s.candidate, s.mid);
        }
      } catch (err) {
        this.log.debug({ err }, 'signal not sent'); // signaling is down: the re-join renegotiates
      }
    });
    peer.on('track', (t) => this.safeEmit('track', t.remoteStreamId ?? '', t));
    peer.on('negotiated', () => this.safeEmit('negotiated', peer));
    peer.on('connected', () => {
      this.retries = 0;
      this.safeEmit('connected', peer);
    });
    peer.on('error', (err) => this.log.warn({ err }, 'server connection failed'));
    peer.on('closed', (reason) => {
      if (this.peer !== peer) return;
      this.peer = undefined;
      this.safeEmit('server-closed', peer, reason);
      if (reason !== 'closed') this.scheduleRetry(reason);
    });
    this.safeEmit('server', peer);
    if (!peer.closed && peer.tracks().length === 0) {
      // Our one section: what we publish, or a receive-only one that lets the connection start.
      peer.addAudioTrack({ direction: this.options.audio === false ? 'recvonly' : 'sendonly' });
    }
  }

  private scheduleRetry(reason: PeerCloseReason): void {
    const delay = RETRY_DELAYS_MS[this.retries];
    if (this.closed || delay === undefined) {
      this.log.warn({ reason, attempts: this.retries }, 'server connection failed; giving up');
      return;
    }
    this.retries++;
    this.log.info({ reason, attempt: this.retries, delay }, 'server connection failed; trying again');
    this.retryTimer = setTimeout(() => {
      if (!this.closed && !this.peer) this.connect();
    }, delay);
  }

  private onDescription(sdp: string, type: 'offer' | 'answer'): void {
    const peer = this.peer;
    if (!peer) return;
    try {
      peer.handleRemoteDescription(sdp, type);
    } catch (err) {
      this.log.warn({ err }, `${type} from the server refused`);
      peer.close('error');
    }
  }

  /** Closes the server connection on purpose (`server-closed` with reason 'closed', no retry). */
  private closePeer(): void {
    this.peer?.close();
    this.peer = undefined;
  }

  private safeEmit<K extends keyof SfuAgentEvents>(event: K, ...args: SfuAgentEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: SfuAgentEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ err: toCallpeerError(err), event }, 'listener threw');
    }
  }
}
