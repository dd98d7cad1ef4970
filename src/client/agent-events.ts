/**
 * The one contract of a room member in Node, whatever the room's topology: the events that
 * MeshAgent and SfuAgent both emit, so the bot, the recorder and the load tester are written
 * once. In a mesh room an agent has one link per remote participant; in an SFU room one link,
 * to the server, that carries every publisher's media. Either way a remote track names the
 * participant whose media it is.
 */
import type { JoinedMessage, MutedByServerMessage, Participant, QualityMessage, RemovedByServer } from '../protocol/signaling.js';
import type { MediaTrack } from '../rtc/media-track.js';
import type { Peer, PeerCloseReason } from '../rtc/peer.js';

/** One media connection of an agent. The same object is passed to every event about it. */
export interface AgentLink {
  readonly peer: Peer;
  /**
   * Who is at the other end: a participant (mesh), or undefined for the server (SFU), which
   * forwards every publisher's media on this one connection under SSRCs of its own.
   */
  readonly participant: Participant | undefined;
}

/** A participant's media as it reaches us. The same object is passed to track-added and track-removed. */
export interface RemoteTrack {
  /** Whose media it is: the remote peer (mesh), the publisher the track's stream id names (SFU). */
  readonly participant: Participant;
  readonly kind: 'audio' | 'video';
  /** Set `track.onRtp` to receive its packets. */
  readonly track: MediaTrack;
  /** (SFU rooms) The room's id for the track (`tracks`, `layer`): `<publisher>-<source>`. */
  readonly id?: string;
  /** The connection it arrives on. */
  readonly link: AgentLink;
}

/** The events every agent emits (MeshAgentEvents and SfuAgentEvents add their own). */
export interface AgentEvents {
  /** In the room (again, after a reconnect: ids changed and media was set up anew). */
  joined: [JoinedMessage];
  'participant-joined': [Participant];
  /** After track-removed for each of their tracks. */
  'participant-left': [Participant];
  /** Signaling dropped; it reconnects by itself. */
  disconnected: [{ code: number; reason: string }];
  /** Closed for good. */
  closed: [];
  /** Kicked, or the room was deleted: the agent closes itself right after (closed follows). */
  removed: [RemovedByServer];
  /** A moderator muted us: senders of what it names should stop (the SFU drops it anyway). */
  'muted-by-server': [MutedByServerMessage];
  /** (v2) The server's quality reading of us or of someone whose media we receive. */
  quality: [QualityMessage];
  /** A link was made; add tracks or listeners here (before it negotiates). */
  'link-opened': [AgentLink];
  /** An offer/answer exchange on the link completed: its tracks are settled (attach senders here). */
  'link-negotiated': [AgentLink];
  /** ICE and DTLS are up (again, after a recovered disconnection). */
  'link-connected': [AgentLink];
  /** The link closed (reason 'closed': on purpose), after track-removed for each of its tracks. */
  'link-closed': [AgentLink, PeerCloseReason];
  /** A participant's media reaches us. */
  'track-added': [RemoteTrack];
  /**
   * That media ended: its link closed, the participant left, or a new track of theirs replaced
   * it (an SFU publisher that reconnected). Its MediaTrack may stay open, idle.
   */
  'track-removed': [RemoteTrack];
}
