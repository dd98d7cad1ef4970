import type { Logger } from '../log.js';
import type { Participant, ServerMessage } from '../protocol/signaling.js';
import type { MemberMedia } from './media.js';
import type { Room } from './room.js';

/** Why someone stops being a member. */
export type LeaveReason =
  /** it said `leave` (its connection may stay open to join again) */
  | 'left'
  /** its connection ended */
  | 'disconnected'
  /** its room closed (`Room.close`) */
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
}

/** The room's side of a member: its public state, its sink and its media. */
export class Member {
  participant: Participant;
  /** Set by the room right after the member is added (the media needs the member first). */
  media!: MemberMedia;

  constructor(
    readonly room: Room,
    participant: Participant,
    private readonly sink: MemberSink,
    readonly log: Logger,
    private readonly onClose: (member: Member, reason: LeaveReason) => void,
  ) {
    this.participant = participant;
  }

  get id(): string {
    return this.participant.id;
  }

  send(message: ServerMessage): void {
    this.sink.send(message);
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
