import { CallpeerError } from '../errors.js';
import type { JoinedMessage, LayerChangedMessage, LayerPreference, PublishLayersMessage, Topology, TrackInfo } from '../protocol/signaling.js';
import type { MediaTrack } from '../rtc/media-track.js';
import { Peer, type PeerCloseReason } from '../rtc/peer.js';
import { AgentBase } from './agent-base.js';
import type { AgentEvents, AgentLink } from './agent-events.js';
import { RETRY_DELAYS_MS, type AgentOptions } from './agent-options.js';
import { toNdcIceServers } from '../rtc/ice-servers.js';
import type { SignalingClient } from './signaling-client.js';

export type SfuAgentOptions = AgentOptions;

/** The common events (AgentEvents: one link, to the server), and the SFU's own. */
export interface SfuAgentEvents extends AgentEvents {
  /** The connection to the server was made; add tracks here (before it negotiates). */
  server: [Peer];
  /** A publisher's track, forwarded by the server (the track's stream id names the publisher). */
  track: [publisher: string, MediaTrack];
  /** (v2) The room's tracks, whole, after joining and on every change. */
  tracks: [TrackInfo[]];
  /** (v2) The layer the server now forwards on one of our video subscriptions. */
  layer: [LayerChangedMessage];
  /** (v2) Layers of our own track somebody receives: a simulcast sender may pause the rest. */
  'publish-layers': [PublishLayersMessage];
  /** An offer/answer exchange with the server completed (attach senders here). */
  negotiated: [Peer];
  connected: [Peer];
  'server-closed': [Peer, PeerCloseReason];
}

/**
 * A Node member of an SFU room (PROTOCOL.md): one Peer, to the server. It offers its audio
 * (send-only when it publishes, receive-only otherwise); the server then offers one track
 * per publisher, each named by the publisher's id. A connection that fails is made again,
 * like MeshAgent's (libdatachannel's occasional DTLS refusal).
 */
export class SfuAgent extends AgentBase<SfuAgentEvents> {
  private link: AgentLink | undefined;
  private retries = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  /** `client`: one already connected and joined (see joinRoom), entered with adopt(). */
  constructor(options: SfuAgentOptions, client?: SignalingClient) {
    super(options, client);
    this.client.on('offer', (m) => this.onDescription(m.sdp, 'offer'));
    this.client.on('answer', (m) => this.onDescription(m.sdp, 'answer'));
    this.client.on('candidate', (m) => this.link?.peer.addRemoteCandidate(m.candidate, m.mid));
    this.client.on('tracks', (m) => {
      this.roomTracks = m.tracks;
      this.safeEmit('tracks', m.tracks);
    });
    this.client.on('layer', (m) => this.safeEmit('layer', m));
    this.client.on('publish-layers', (m) => this.safeEmit('publish-layers', m));
  }

  /** The room's tracks as the server last listed them (v2). */
  roomTracks: TrackInfo[] = [];

  get topology(): Topology {
    return 'sfu';
  }

  /** The connection to the server, once made. */
  get server(): Peer | undefined {
    return this.link?.peer;
  }

  /** Stops or resumes the server forwarding `publisher`'s track (default its microphone) to us. */
  setSubscribed(publisher: string, wanted: boolean, track = 'audio'): void {
    this.client.send({ type: wanted ? 'subscribe' : 'unsubscribe', publisher, track });
  }

  /** Asks for a simulcast layer of a video track (`auto`: the server chooses). */
  setLayer(track: string, quality: LayerPreference): void {
    this.client.send({ type: 'layer', track, quality });
  }

  /** start() in a mesh room: SFU_NOT_ENABLED. */
  protected override async accept(joined: JoinedMessage): Promise<void> {
    if (joined.room.topology === 'sfu') return;
    await this.close();
    throw new CallpeerError('SFU_NOT_ENABLED', `room "${joined.room.id}" is a ${joined.room.topology} room`, { hint: 'use a mesh agent for it' });
  }

  protected override startMedia(): void {
    this.connect();
  }

  /** Closes the server connection on purpose (`server-closed` with reason 'closed', no retry). */
  protected override closeMedia(): void {
    if (this.closed) clearTimeout(this.retryTimer);
    this.link?.peer.close();
    this.link = undefined;
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
    const link: AgentLink = { peer, participant: undefined };
    this.link = link;
    this.openLink(link);
    peer.on('track', (t) => {
      const publisher = t.remoteStreamId ?? '';
      const id = t.remoteMedia?.msid?.trackId || undefined;
      // A publisher's new track replaces its old one of the same source (they reconnected; the old one stays idle).
      this.removeTracks((r) => r.participant.id === publisher && r.kind === t.kind && r.id === id);
      this.addTrack(link, this.participantOf(publisher), t, id);
      this.safeEmit('track', publisher, t);
    });
    // The server ended a track (its section goes inactive, to be reused for the next one).
    peer.on('track-ended', (t) => this.removeTracks((r) => r.track === t));
    peer.on('negotiated', () => this.safeEmit('negotiated', peer));
    peer.on('connected', () => {
      this.retries = 0;
      this.safeEmit('connected', peer);
    });
    peer.on('closed', (reason) => {
      if (this.link !== link) return;
      this.link = undefined;
      this.safeEmit('server-closed', peer, reason);
      if (reason !== 'closed') this.scheduleRetry(reason);
    });
    this.safeEmit('server', peer);
    if (!peer.closed && !peer.tracks().some((t) => t.kind === 'audio')) {
      // Our microphone's section (a `server` listener may have added video): what we publish, or
      // a receive-only one that lets the connection start.
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
      if (!this.closed && !this.link) this.connect();
    }, delay);
  }

  private onDescription(sdp: string, type: 'offer' | 'answer'): void {
    const peer = this.link?.peer;
    if (!peer) return;
    try {
      peer.handleRemoteDescription(sdp, type);
    } catch (err) {
      this.log.warn({ err }, `${type} from the server refused`);
      peer.close('error');
    }
  }
}
