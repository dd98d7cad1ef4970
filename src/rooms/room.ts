import { CallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { IceServer, MediaSettings, Participant, RoomInfo, ServerMessage, Topology } from '../protocol/signaling.js';
import type { Admission } from './access.js';
import type { LegStats } from './audio-leg.js';
import type { RoomMedia, RoomMediaFactory } from './media.js';
import { Member, type JoinRequest, type LeaveReason, type MediaKinds, type MemberSink } from './member.js';
import { QualityReporter, type QualityChange } from './quality-reporter.js';
import type { QualityMessage } from '../protocol/signaling.js';
import { systemClock, type Clock } from '../time/clock.js';

export interface RoomSnapshot {
  id: string;
  topology: Topology;
  maxMembers: number;
  createdAt: string;
  ageSeconds: number;
  /** A display name given when the room was created through the API. */
  name?: string;
  /** Gateway members (role `phone`) carry their audio figures; everyone their last quality reading. */
  participants: (Participant & { gateway?: LegStats; quality?: Omit<QualityMessage, 'type' | 'id'> })[];
}

/** Why a room closes. */
export type RoomCloseReason =
  /** its last member left (rooms made by a join, not by the API) */
  | 'empty'
  /** the server is stopping */
  | 'shutdown'
  /** deleted through the room API: members get `room-closed {reason: "deleted"}` */
  | 'deleted';

/** What a member gets when no access policy is involved (tests, auth off). */
const OPEN_ACCESS_ADMISSION: Admission = { guest: false, publish: true, subscribe: true, mayCreateRoom: true };

export interface RoomOptions {
  topology: Topology;
  maxMembers: number;
  log: Logger;
  /** Handed to each member in `joined.iceServers` (TURN credentials are per member). */
  iceServers: (member: Member) => IceServer[];
  /** Made through the room API: it stays when empty, until deleted. */
  persistent?: boolean;
  /** A display name given at creation. */
  name?: string;
  /** Makes the room's media side (mesh relay, SFU router...). */
  media: RoomMediaFactory;
  /** The server's media settings, told to every member in `joined.room.media`. */
  mediaSettings?: MediaSettings;
  /** Called after each join (+1) and leave (-1): metrics. */
  onMembers?: (delta: number) => void;
  /** Called when a member left (not when the room closes). */
  onLeft?: (room: Room, memberId: string) => void;
  /** Called once when the room has closed. */
  onClosed?: (room: Room, reason: RoomCloseReason) => void;
  /** Quality reports: the clock of their 2 s round, and who hears of each reading and change. */
  quality?: {
    clock?: Clock;
    intervalMs?: number;
    onReading?: (room: Room, message: QualityMessage) => void;
    onChange?: (room: Room, change: QualityChange) => void;
  };
}

/**
 * A call room. It owns its members and its media: one place admits (capacity today; auth
 * later), one place announces `peer-joined` / `peer-left`, and `close()` cascades to every
 * member and the media, as mediasoup's parents close their children.
 */
export class Room {
  readonly createdAt = Date.now();
  readonly topology: Topology;
  readonly maxMembers: number;
  readonly log: Logger;
  private readonly members = new Map<string, Member>();
  private readonly media: RoomMedia;
  private readonly quality: QualityReporter;
  private closed = false;

  constructor(readonly id: string, private readonly options: RoomOptions) {
    this.topology = options.topology;
    this.maxMembers = options.maxMembers;
    this.log = options.log;
    this.media = options.media(this);
    const q = options.quality ?? {};
    this.quality = new QualityReporter({
      clock: q.clock ?? systemClock,
      ...(q.intervalMs !== undefined && { intervalMs: q.intervalMs }),
      read: () => this.media.measureQuality(),
      send: (to, m) => this.members.get(to)?.send(m),
      ...(q.onReading && { onReading: (m: QualityMessage) => q.onReading!(this, m) }),
      ...(q.onChange && { onChange: (c: QualityChange) => q.onChange!(this, c) }),
    });
    this.quality.start();
  }

  get size(): number {
    return this.members.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  info(): RoomInfo {
    return { id: this.id, topology: this.topology, maxMembers: this.maxMembers, ...(this.options.mediaSettings && { media: this.options.mediaSettings }) };
  }

  get(id: string): Member | undefined {
    return this.members.get(id);
  }

  /** Everyone but `exceptId`, as the protocol's participant objects, in join order. */
  participants(exceptId?: string): Participant[] {
    const list: Participant[] = [];
    for (const m of this.members.values()) if (m.id !== exceptId) list.push(m.participant);
    return list;
  }

  /**
   * Admits a member: `joined` to it (with everyone already there), `peer-joined` to the others.
   * Throws ROOM_FULL, or ROOM_NOT_FOUND when the room closed meanwhile.
   */
  join(sink: MemberSink, request: JoinRequest): Member {
    if (this.closed) throw new CallpeerError('ROOM_NOT_FOUND', `room "${this.id}" has closed; join again to open it anew`, { ref: 'join' });
    if (this.members.size >= this.maxMembers) {
      throw new CallpeerError('ROOM_FULL', `room "${this.id}" is full (${this.maxMembers} members)`, { ref: 'join' });
    }
    const admission = request.admission ?? OPEN_ACCESS_ADMISSION;
    const participant: Participant = {
      id: request.id,
      name: admission.name ?? (request.name?.trim() || `Guest ${request.id.slice(0, 4)}`),
      role: request.role ?? 'participant',
      audio: request.audio ?? false,
      video: request.video ?? false,
      screen: false,
      metadata: request.metadata ?? {},
      ...(admission.identity !== undefined && { identity: admission.identity }),
      guest: admission.guest,
      ...(!admission.publish && { canPublish: false }),
    };
    const others = this.participants();
    const member = new Member(this, participant, sink, this.log.child({ peer: participant.id }), (m, reason) => this.leave(m, reason), admission, request.autoSubscribe ?? true, request.leg);
    this.members.set(member.id, member);
    try {
      member.media = this.media.join(member);
    } catch (err) {
      this.members.delete(member.id);
      throw err;
    }
    this.options.onMembers?.(1);
    sink.send({ type: 'joined', id: member.id, room: this.info(), participants: others, iceServers: this.options.iceServers(member) });
    this.broadcast({ type: 'peer-joined', participant }, member.id);
    this.log.info({ peer: member.id, role: participant.role, members: this.members.size }, 'participant joined');
    return member;
  }

  /**
   * Changes a member's public state and tells the others (`peer-updated`). A kind the room
   * API muted comes back when the member turns it on itself.
   */
  update(member: Member, changes: MediaKinds): void {
    if (this.members.get(member.id) !== member) return;
    const unmuted = (Object.keys(changes) as (keyof MediaKinds)[]).filter((k) => changes[k] && member.serverMuted.delete(k));
    if (unmuted.length > 0) member.media.setMuted(Object.fromEntries(unmuted.map((k) => [k, false])));
    member.participant = { ...member.participant, ...changes };
    this.broadcast({ type: 'peer-updated', participant: member.participant }, member.id);
    member.media.updated();
  }

  /** Removes a member for the room API: `kicked {reason}` to it, `peer-left` to the others. */
  kick(memberId: string, reason: string): boolean {
    const member = this.members.get(memberId);
    if (!member) return false;
    member.send({ type: 'kicked', reason });
    this.leave(member, 'kicked');
    return true;
  }

  /**
   * Mutes a member's media for the room API: `muted-by-server` to it, `peer-updated` to the
   * others, and the media side stops forwarding it (an SFU can; a mesh cannot) until the
   * member turns it on again.
   */
  mute(memberId: string, kinds: MediaKinds): boolean {
    const member = this.members.get(memberId);
    if (!member) return false;
    const muted = (Object.keys(kinds) as (keyof MediaKinds)[]).filter((k) => kinds[k] === false);
    for (const k of muted) member.serverMuted.add(k);
    member.media.setMuted(Object.fromEntries(muted.map((k) => [k, true])));
    member.send({ type: 'muted-by-server', ...Object.fromEntries(muted.map((k) => [k, false])) });
    member.participant = { ...member.participant, ...Object.fromEntries(muted.map((k) => [k, false])) };
    this.broadcast({ type: 'peer-updated', participant: member.participant }, member.id);
    member.media.updated();
    return true;
  }

  /** Sends to every member but `exceptId`. */
  broadcast(message: ServerMessage, exceptId?: string): void {
    for (const m of this.members.values()) if (m.id !== exceptId) m.send(message);
  }

  /**
   * Closes the room: every member is detached, then the media. Deleted, members are told
   * first (`room-closed`). Idempotent.
   */
  close(reason: RoomCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    const members = [...this.members.values()];
    this.members.clear();
    for (const m of members) {
      if (reason === 'deleted') m.send({ type: 'room-closed', reason: 'deleted' });
      m.media.close();
      this.options.onMembers?.(-1);
      m.detach(reason === 'deleted' ? 'room-deleted' : 'room-closed');
    }
    this.quality.stop();
    this.media.close();
    this.log.info({ reason }, 'room closed');
    this.options.onClosed?.(this, reason);
  }

  snapshot(now = Date.now()): RoomSnapshot {
    return {
      id: this.id,
      topology: this.topology,
      maxMembers: this.maxMembers,
      createdAt: new Date(this.createdAt).toISOString(),
      ageSeconds: Math.round((now - this.createdAt) / 1000),
      ...(this.options.name !== undefined && { name: this.options.name }),
      participants: [...this.members.values()].map((m) => {
        const quality = this.quality.latest(m.id);
        return { ...m.participant, ...(m.leg && { gateway: m.leg.stats() }), ...(quality && { quality: withoutType(quality) }) };
      }),
    };
  }

  private leave(member: Member, reason: LeaveReason): void {
    if (this.members.get(member.id) !== member) return;
    this.members.delete(member.id);
    member.media.close();
    this.quality.forget(member.id);
    this.options.onLeft?.(this, member.id);
    this.broadcast({ type: 'peer-left', id: member.id });
    this.log.info({ peer: member.id, reason, members: this.members.size }, 'participant left');
    this.options.onMembers?.(-1);
    member.detach(reason);
    if (this.members.size === 0 && !this.options.persistent) this.close('empty');
  }
}

function withoutType({ type: _t, id: _i, ...rest }: QualityMessage): Omit<QualityMessage, 'type' | 'id'> {
  return rest;
}
