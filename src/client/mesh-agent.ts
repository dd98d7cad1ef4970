import type { JoinedMessage, Participant, Topology } from '../protocol/signaling.js';
import { toNdcIceServers } from '../rtc/ice-servers.js';
import { Peer, type PeerCloseReason } from '../rtc/peer.js';
import type { MediaTrack } from '../rtc/media-track.js';
import { readRtcp } from '../rtc/rtcp-schedule.js';
import { iceUfrag } from '../rtc/sdp.js';
import { AgentBase } from './agent-base.js';
import type { AgentEvents, AgentLink } from './agent-events.js';
import { DEFAULT_STATS_INTERVAL_MS, RETRY_DELAYS_MS, type AgentOptions } from './agent-options.js';
import { emptySample, meshStatsReport, receptionSample, roundTripMs, type ReceptionSample } from './mesh-stats.js';
import type { SignalingClient } from './signaling-client.js';

export type MeshAgentOptions = AgentOptions;

const MAX_RETRIES = RETRY_DELAYS_MS.length;

/** Per link, for its `stats` reports: where the next interval starts, the last round trip, the tracks whose RTCP we read. */
interface LinkReception {
  since: ReceptionSample;
  rttMs: number | undefined;
  watched: WeakSet<MediaTrack>;
}

/** One remote participant and our connection to it: the mesh's AgentLink. */
export interface RemotePeer extends AgentLink {
  readonly participant: Participant;
}

/** The common events (AgentEvents: each link is one of our RemotePeers), and the mesh's own. */
export interface MeshAgentEvents extends AgentEvents {
  /** A Peer was made for a participant; add tracks or listeners here (before it negotiates). */
  peer: [RemotePeer, { initiator: boolean }];
  /** The remote sends media on this track. */
  track: [RemotePeer, MediaTrack];
  /** An offer/answer exchange completed: tracks are settled (attach senders here). */
  negotiated: [RemotePeer];
  connected: [RemotePeer];
  'peer-closed': [RemotePeer, PeerCloseReason];
}

/**
 * A Node member of a mesh room (PROTOCOL.md): it joins through the signaling client and keeps
 * one Peer per remote participant. As a newcomer it offers to everyone already there; later
 * arrivals offer to it. The bots, the recorder and the load tester use it through RoomAgent.
 *
 * Every `statsIntervalMs` it reports to the server what it receives from each participant
 * (`stats`, see mesh-stats.ts), from the counts of the RtpReceiver on each track: the server
 * makes everyone's `quality` from these reports. A track read raw (`onRtp`, no RtpReceiver)
 * is not counted.
 */
export class MeshAgent extends AgentBase<MeshAgentEvents> {
  private readonly remotes = new Map<string, RemotePeer>();
  /** Reconnect attempts per participant since its last successful connection. */
  private readonly retries = new Map<string, number>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** The ICE ufrag of each participant's last offer or answer: a new one means a new connection. */
  private readonly remoteUfrags = new Map<string, string>();
  /** Connected links, for their `stats` reports. */
  private readonly reception = new Map<RemotePeer, LinkReception>();
  private statsTimer: NodeJS.Timeout | undefined;

  /** `client`: one already connected and joined (see joinRoom), entered with adopt(). */
  constructor(options: MeshAgentOptions, client?: SignalingClient) {
    super(options, client);
    this.client.on('offer', (m) => this.onDescription(m.from, m.sdp, 'offer'));
    this.client.on('answer', (m) => this.onDescription(m.from, m.sdp, 'answer'));
    this.client.on('candidate', (m) => this.remotes.get(m.from)?.peer.addRemoteCandidate(m.candidate, m.mid));
  }

  get topology(): Topology {
    return 'mesh';
  }

  peers(): RemotePeer[] {
    return [...this.remotes.values()];
  }

  /** The newcomer offers to everyone already in the room. */
  protected override startMedia(joined: JoinedMessage): void {
    const every = this.options.statsIntervalMs ?? DEFAULT_STATS_INTERVAL_MS;
    if (every > 0 && this.statsTimer === undefined) {
      this.statsTimer = setInterval(() => this.reportStats(), every);
      this.statsTimer.unref();
    }
    for (const p of joined.participants) this.createRemote(p, true);
  }

  protected override closeMedia(): void {
    if (this.closed) {
      for (const t of this.retryTimers) clearTimeout(t);
      clearInterval(this.statsTimer);
    }
    this.closePeers();
  }

  protected override participantLeft(id: string): void {
    this.remoteUfrags.delete(id);
    this.retries.delete(id);
    this.remotes.get(id)?.peer.close();
  }

  private createRemote(participant: Participant, initiator: boolean): RemotePeer {
    const myId = this.client.id ?? '';
    const peer = new Peer({
      iceServers: this.iceServers.flatMap(toNdcIceServers),
      ...this.options.peer,
      id: participant.id,
      logger: this.log,
      polite: myId < participant.id,
    });
    const remote: RemotePeer = { participant, peer };
    this.remotes.set(participant.id, remote);
    this.openLink(remote);
    peer.on('track', (t) => {
      this.addTrack(remote, participant, t);
      this.safeEmit('track', remote, t);
    });
    peer.on('negotiated', () => this.safeEmit('negotiated', remote));
    peer.on('connected', () => {
      this.retries.delete(participant.id);
      // Counts go on through a recovered disconnection: only the first connection starts them.
      if (!this.reception.has(remote)) this.reception.set(remote, { since: emptySample(performance.now()), rttMs: undefined, watched: new WeakSet() });
      this.safeEmit('connected', remote);
    });
    peer.on('closed', (reason) => {
      this.reception.delete(remote);
      if (this.remotes.get(participant.id) !== remote) return;
      this.remotes.delete(participant.id);
      this.safeEmit('peer-closed', remote, reason);
      if (initiator && reason !== 'closed') this.scheduleRetry(participant.id, reason);
    });
    this.safeEmit('peer', remote, { initiator });
    if (initiator && !peer.closed && peer.tracks().length === 0) {
      // Nothing added by a listener: offer one audio section so the remote sends us its audio,
      // and a video one when we take video (capabilities.receiveVideo: the recorder).
      peer.addAudioTrack({ direction: 'sendrecv' });
      if (this.options.peer?.capabilities?.receiveVideo) peer.addVideoReceiver();
    }
    return remote;
  }

  /**
   * A connection that failed is made again from scratch by the side that offered it, up to
   * MAX_RETRIES times: a network that drops the first packets, a peer that restarted. (It was
   * also how refused first DTLS handshakes were survived, 1-15 % of concurrent setups, until
   * Peer held an offerer's candidates until the answer: see Peer.flushLocalCandidates.)
   */
  private scheduleRetry(id: string, reason: PeerCloseReason): void {
    const attempt = (this.retries.get(id) ?? 0) + 1;
    if (this.closed || !this.participants.has(id) || attempt > MAX_RETRIES) {
      this.log.warn({ peer: id, reason, attempts: attempt - 1 }, 'connection failed; giving up on this participant');
      return;
    }
    this.retries.set(id, attempt);
    const delay = RETRY_DELAYS_MS[attempt - 1]!;
    this.log.info({ peer: id, reason, attempt, delay }, 'connection failed; trying again');
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      const participant = this.participants.get(id);
      if (!this.closed && participant && !this.remotes.has(id)) this.createRemote(participant, true);
    }, delay);
    this.retryTimers.add(timer);
  }

  private onDescription(from: string, sdp: string, type: 'offer' | 'answer'): void {
    let remote = this.remotes.get(from);
    const ufrag = iceUfrag(sdp);
    const previous = this.remoteUfrags.get(from);
    if (ufrag !== undefined) this.remoteUfrags.set(from, ufrag);
    if (remote && type === 'offer' && previous !== undefined && ufrag !== previous) {
      // New ICE credentials: the other side started a new connection (it retries after a
      // failure we may not have noticed); libdatachannel cannot restart ICE, so start over too.
      this.log.info({ peer: from }, 'new connection offered; replacing the old one');
      remote.peer.close('failed');
      remote = undefined;
    }
    if (!remote) {
      if (type === 'answer') return;
      remote = this.createRemote(this.participantOf(from), false);
    }
    try {
      remote.peer.handleRemoteDescription(sdp, type);
    } catch (err) {
      this.log.warn({ err, peer: from }, `${type} refused`);
      remote.peer.close('error');
    }
  }

  /**
   * One round of `stats`: a report per connected link that receives media (see
   * meshStatsReport), every link at once: a few small messages well under the server's rate limit.
   */
  private reportStats(): void {
    const now = performance.now();
    for (const [remote, state] of this.reception) {
      if (!remote.peer.connected) continue;
      const tracks = remote.peer.tracks();
      for (const t of tracks) this.watchRtcp(t, remote, state);
      const read = tracks.flatMap((t) => (t.reception ? [{ kind: t.kind, reception: t.reception() }] : []));
      const cur = receptionSample(read, now);
      const who = this.participants.get(remote.participant.id) ?? remote.participant;
      const report = meshStatsReport(state.since, cur, state.rttMs, who.video || who.screen);
      state.since = cur;
      if (!report) continue;
      try {
        this.client.send({ type: 'stats', peer: who.id, ...report });
      } catch {
        return; // signaling is down; the next round reports again
      }
    }
  }

  /** Reads the peer's reports about our streams on `track` for the round trip (RTCP: about one packet a second). */
  private watchRtcp(track: MediaTrack, remote: RemotePeer, state: LinkReception): void {
    if (state.watched.has(track)) return;
    state.watched.add(track);
    track.on('rtcp', (packet) => {
      const ours = new Set(remote.peer.tracks().flatMap((t) => t.localSsrcs));
      const rtt = roundTripMs(readRtcp(packet, this.log), ours, Date.now());
      if (rtt !== undefined) state.rttMs = rtt;
    });
  }

  private closePeers(): void {
    for (const r of [...this.remotes.values()]) r.peer.close();
    this.remotes.clear();
    this.remoteUfrags.clear();
    this.retries.clear();
  }
}
