import { CallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { IceServer, MediaSettings, Topology } from '../protocol/signaling.js';
import { OPEN_ACCESS, type AccessPolicy } from './access.js';
import type { RoomMediaFactory } from './media.js';
import type { JoinRequest, MediaKinds, Member, MemberSink } from './member.js';
import type { RoomAdmin } from './room-admin.js';
import { Room, type RoomCloseReason, type RoomOptions, type RoomSnapshot } from './room.js';

export interface RoomRegistryOptions {
  log: Logger;
  /** Capacity of a room made without one. */
  maxMembers: number;
  /** Topology of a room made without one. */
  topology?: Topology;
  /** What each member gets in `joined.iceServers` (TURN credentials are made per member). Default none. */
  iceServers?: (member: Member) => IceServer[];
  /** Who may join; default everyone (auth off). */
  access?: AccessPolicy;
  /** Makes each room's media side. */
  media: RoomMediaFactory;
  /** The server's media settings, told to every member in `joined.room.media`. */
  mediaSettings?: MediaSettings;
  /** Called when the number of rooms or participants changes (metrics). */
  onChange?: (rooms: number, participants: number) => void;
  /** Quality reports of every room: the clock of their round, and who hears of readings and changes. */
  quality?: RoomOptions['quality'];
  /** A member left a room (metrics keyed by member). */
  onLeft?: (room: Room, memberId: string) => void;
  /** A room closed (metrics keyed by room). */
  onRoomClosed?: (room: Room) => void;
}

/** A room as the room API creates it. */
export interface RoomSpec {
  id: string;
  topology?: Topology;
  maxMembers?: number;
  name?: string;
}

/**
 * All rooms of a server. With auth off a room springs into being on first join and goes when
 * its last member leaves; rooms made through the API stay until deleted. Admission is decided
 * here, in one place: the access policy (token, role, whether this join may open the room),
 * then the room's capacity. The calls a distributed registry will answer over the network
 * return promises already, so callers need not change when rooms live on other nodes.
 */
export class RoomRegistry implements RoomAdmin {
  private readonly rooms = new Map<string, Room>();
  private participantCount = 0;
  private readonly access: AccessPolicy;

  constructor(private readonly options: RoomRegistryOptions) {
    this.access = options.access ?? OPEN_ACCESS;
  }

  get(id: string): Room | undefined {
    return this.rooms.get(id);
  }

  /** The ids of the rooms here. */
  ids(): string[] {
    return [...this.rooms.keys()];
  }

  /**
   * Joins `roomId` with `token`. Rejects with UNAUTHORIZED (the access policy's reason),
   * ROOM_NOT_FOUND (auth on and nobody created the room), or the room's refusal (ROOM_FULL).
   */
  async join(roomId: string, sink: MemberSink, request: JoinRequest, token?: string): Promise<Member> {
    // A phone (gateway) member is admitted as the participant it is to the access policy.
    const role = request.role === undefined || request.role === 'phone' ? 'participant' : request.role;
    const admission = await this.access.admit({ token, roomId, role });
    let room = this.rooms.get(roomId);
    const made = !room;
    if (!room) {
      if (!admission.mayCreateRoom) throw new CallpeerError('ROOM_NOT_FOUND', `room "${roomId}" does not exist on this server`, { ref: 'join' });
      room = this.open({ id: roomId }, false);
    }
    try {
      return room.join(sink, { ...request, admission });
    } catch (err) {
      if (made && room.size === 0) room.close('empty'); // made for this join alone
      throw err;
    }
  }

  /** Creates a room that stays until deleted; undefined if one with that id exists. */
  async create(spec: RoomSpec): Promise<RoomSnapshot | undefined> {
    if (this.rooms.has(spec.id)) return undefined;
    return this.open(spec, true).snapshot();
  }

  async snapshot(id: string): Promise<RoomSnapshot | undefined> {
    return this.rooms.get(id)?.snapshot();
  }

  async has(id: string): Promise<boolean> {
    return this.rooms.has(id);
  }

  async list(): Promise<RoomSnapshot[]> {
    const now = Date.now();
    return [...this.rooms.values()].map((r) => r.snapshot(now));
  }

  /** Deletes a room: its members get `room-closed {reason: "deleted"}` and are closed. False if there is none. */
  async delete(id: string): Promise<boolean> {
    const room = this.rooms.get(id);
    if (!room) return false;
    room.close('deleted');
    return true;
  }

  /** Removes a member (`kicked` to it, `peer-left` to the others). False if there is no such room or member. */
  async kick(roomId: string, memberId: string, reason: string): Promise<boolean> {
    return this.rooms.get(roomId)?.kick(memberId, reason) ?? false;
  }

  /** Mutes what `kinds` sets to false on a member. False if there is no such room or member. */
  async mute(roomId: string, memberId: string, kinds: MediaKinds): Promise<boolean> {
    return this.rooms.get(roomId)?.mute(memberId, kinds) ?? false;
  }

  get size(): number {
    return this.rooms.size;
  }

  /** Closes every room (cascading to members and media). */
  close(reason: RoomCloseReason): void {
    for (const room of [...this.rooms.values()]) room.close(reason);
  }

  private open(spec: RoomSpec, persistent: boolean): Room {
    const o = this.options;
    const iceServers = o.iceServers ?? (() => []);
    const room = new Room(spec.id, {
      topology: spec.topology ?? o.topology ?? 'mesh',
      maxMembers: spec.maxMembers ?? o.maxMembers,
      log: o.log.child({ room: spec.id }),
      iceServers,
      persistent,
      ...(spec.name !== undefined && { name: spec.name }),
      media: o.media,
      ...(o.mediaSettings && { mediaSettings: o.mediaSettings }),
      ...(o.quality && { quality: o.quality }),
      onMembers: (delta) => { this.participantCount += delta; this.changed(); },
      ...(o.onLeft && { onLeft: o.onLeft }),
      onClosed: (r) => {
        if (this.rooms.get(r.id) === r) this.rooms.delete(r.id);
        o.onRoomClosed?.(r);
        this.changed();
      },
    });
    this.rooms.set(spec.id, room);
    room.log.info({ topology: room.topology, maxMembers: room.maxMembers, persistent }, 'room created');
    this.changed();
    return room;
  }

  private changed(): void {
    this.options.onChange?.(this.rooms.size, this.participantCount);
  }
}
