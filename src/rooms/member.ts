import type { Logger } from '../log.js';
import type { Admission } from './access.js';
import type { AudioLeg } from './audio-leg.js';
import type { Participant, ServerMessage, Topology } from '../protocol/signaling.js';
import type { MemberMedia } from './media.js';
import { applyMemberMessage, type InRoomMessage, type RoomSession } from './member-messages.js';
import type { Room } from './room.js';

/** Why someone stops being a member. */
export type LeaveReason =
  /** it said `leave` (its connection may stay open to join again) */
  | 'left'
  /** its connection ended */
  | 'disconnected'
  /** removed through the room API (`kicked` was sent to it) */
  | 'kicked'
  /** its room closed under it: deleted (`room-closed` was sent to it) */
  | 'room-deleted'
  /** its room closed for another reason (the server is stopping) */
  | 'room-closed';

/**
 * Where a member's messages go and how its transport hears that it left: a WebSocket session,
 * a PCM gateway client or (later) a member whose connection is on another node all look the
 * same to the room.
 */
export interface MemberSink {
  send(message: ServerMessage): void;
  /** Called once when the member is out of its room, whatever the reason and whoever asked. */
  detached(reason: LeaveReason): void;
  /**
   * The transport signals once (WHIP: one HTTP offer, one answer): the server's description
   * must carry all its candidates, nothing is renegotiated, and the member leaves when its
   * media connection closes (it cannot offer again). Default false.
   */
  readonly oneShot?: boolean;
  /**
   * (SFU rooms) The transport cannot take the server's offers, so the room's media goes into
   * the receive sections of the member's own offer (WHEP): each carries one track of the room
   * (only `publisher`'s, when set: a participant id or name) and takes the next one of its kind
   * when that track ends. Unset: the server adds a section per track it forwards (default).
   */
  readonly viewing?: { publisher?: string };
}

/** What a join asks for; the room fills in the defaults. */
export interface JoinRequest {
  /** The connection's participant id (made by the server, kept across re-joins). */
  id: string;
  name?: string;
  role?: Participant['role'];
  audio?: boolean;
  video?: boolean;
  metadata?: Record<string, unknown>;
  /** What the access policy granted (auth off: everything). */
  admission?: Admission;
  /** (v2, SFU rooms) Subscribe to every track as it appears (default true). */
  autoSubscribe?: boolean;
  /** (v2) A gateway member: its audio comes and goes through this leg, not WebRTC (role `phone`). */
  leg?: AudioLeg;
}

/** Media kinds the room API can mute. */
export interface MediaKinds { audio?: boolean; video?: boolean; screen?: boolean }

/** The room's side of a member: its public state, its sink and its media. */
export class Member implements RoomSession {
  participant: Participant;
  /** Set by the room right after the member is added (the media needs the member first). */
  media!: MemberMedia;
  /** What the access policy granted. */
  readonly admission: Admission;
  /** Kinds muted through the room API, until the member unmutes them itself. */
  readonly serverMuted = new Set<keyof MediaKinds>();
  /** (v2, SFU rooms) Subscribed to every track as it appears, unless the join said otherwise. */
  readonly autoSubscribe: boolean;

  constructor(
    readonly room: Room,
    participant: Participant,
    private readonly sink: MemberSink,
    readonly log: Logger,
    private readonly onClose: (member: Member, reason: LeaveReason) => void,
    admission: Admission,
    autoSubscribe = true,
    /** A gateway member's audio (PCM, phone): set for role `phone`, never for WebRTC members. */
    readonly leg?: AudioLeg,
  ) {
    this.participant = participant;
    this.admission = admission;
    this.autoSubscribe = autoSubscribe;
  }

  get id(): string {
    return this.participant.id;
  }

  get roomId(): string {
    return this.room.id;
  }

  get topology(): Topology {
    return this.room.topology;
  }

  /** Its transport signals once (see MemberSink.oneShot). */
  get oneShot(): boolean {
    return this.sink.oneShot ?? false;
  }

  /** Its media goes into the sections of its own offer (see MemberSink.viewing). */
  get viewing(): { publisher?: string } | undefined {
    return this.sink.viewing;
  }

  send(message: ServerMessage): void {
    this.sink.send(message);
  }

  handle(message: InRoomMessage): void {
    applyMemberMessage(this, message);
  }

  /** Takes the member out of its room (peer-left to the others, media closed). Idempotent. */
  close(reason: LeaveReason): void {
    this.onClose(this, reason);
  }

  /** @internal The room tells the transport, once. */
  detach(reason: LeaveReason): void {
    this.sink.detached(reason);
  }
}
