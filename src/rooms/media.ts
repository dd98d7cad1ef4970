/**
 * The one interface between a room and its media: the room never imports the media stack,
 * and the media side never manages membership (Galène's split). The mesh relay and the SFU
 * router implement it; the PCM gateway and a proxy to a room on another node will.
 */
import type { AnswerMessage, CandidateMessage, LayerPreference, OfferMessage, StatsMessage } from '../protocol/signaling.js';
import type { MediaKinds, Member } from './member.js';
import type { QualityReading } from './quality-reporter.js';
import type { Room } from './room.js';

/** A member's `offer`, `answer` or `candidate`, as validated (with or without `to`). */
export type SignalMessage = OfferMessage | AnswerMessage | CandidateMessage;

/** The media side of one room: made with the room, closed with it. */
export interface RoomMedia {
  /** The media side of a member who just joined (it is already in the room's member list). */
  join(member: Member): MemberMedia;
  /** One quality reading per participant with something to report, over the last interval (called every 2 s). */
  measureQuality(): QualityReading[];
  /** Frees everything. Called once, after every member's media was closed. */
  close(): void;
}

/**
 * One member's media. Each method throws CallpeerError with the protocol's code for what this
 * topology does not allow (e.g. SFU_NOT_ENABLED for `subscribe` in a mesh).
 */
export interface MemberMedia {
  signal(message: SignalMessage): void;
  setSubscribed(publisher: string, track: string, wanted: boolean): void;
  setLayer(track: string, quality: LayerPreference): void;
  /** The member's `stats` about what it receives from a peer (mesh); an SFU measures for itself and ignores them. */
  reportStats(stats: StatsMessage): void;
  /** The member's public state changed (`media`, or the room API muted it): e.g. a track's `muted`. */
  updated(): void;
  /** The room API muted (true) a kind of the member's media, or the member turned it on again (false). */
  setMuted(kinds: MediaKinds): void;
  /** The member left: stop sending it anything and free what it used. Idempotent. */
  close(): void;
}

/**
 * The PCM gateway of a mesh room (its WebRTC links live above the rooms): gateway members
 * (`member.leg`) are mesh participants whose links run in the server.
 */
export interface MeshGatewayPort {
  /** A gateway member joined (it is in the member list): it offers to the WebRTC members. */
  joinLeg(member: Member): void;
  /** `offer` / `answer` / `candidate` from a WebRTC member to gateway member `to`. */
  signal(from: Member, to: Member, message: SignalMessage): void;
  /** A member left (gateway or WebRTC): its links close. */
  left(memberId: string): void;
  close(): void;
}

/** Makes the media side of a new room; the composition root picks the topology's implementation. */
export type RoomMediaFactory = (room: Room) => RoomMedia;
