import type { Logger } from '../log.js';
import type { IceServer, Topology } from '../protocol/signaling.js';
import type { RoomMediaFactory } from './media.js';
import type { JoinRequest, Member, MemberSink } from './member.js';
import { Room, type RoomCloseReason, type RoomSnapshot } from './room.js';

export interface RoomRegistryOptions {
  log: Logger;
  /** Capacity of a room created on first join. */
  maxMembers: number;
  /** Topology of a room created on first join. */
  topology?: Topology;
  /** Handed to members in `joined.iceServers`. */
  iceServers?: readonly IceServer[];
  /** Makes each room's media side. */
  media: RoomMediaFactory;
  /** Called when the number of rooms or participants changes (metrics). */
  onChange?: (rooms: number, participants: number) => void;
}

/**
 * All rooms of a server. A room springs into being on first join and goes when its last
 * member leaves. The calls a distributed registry will answer over the network (join, list)
 * return promises already, so callers need not change when rooms live on other nodes.
 */
export class RoomRegistry {
  private readonly rooms = new Map<string, Room>();
  private participantCount = 0;

  constructor(private readonly options: RoomRegistryOptions) {}

  get(id: string): Room | undefined {
    return this.rooms.get(id);
  }

  /** Joins `roomId` (made on first join). Rejects with the room's refusal (ROOM_FULL...). */
  async join(roomId: string, sink: MemberSink, request: JoinRequest): Promise<Member> {
    const room = this.getOrCreate(roomId);
    try {
      return room.join(sink, request);
    } catch (err) {
      if (room.size === 0) room.close('empty'); // made for this join alone
      throw err;
    }
  }

  async list(): Promise<RoomSnapshot[]> {
    const now = Date.now();
    return [...this.rooms.values()].map((r) => r.snapshot(now));
  }

  get size(): number {
    return this.rooms.size;
  }

  /** Closes every room (cascading to members and media). */
  close(reason: RoomCloseReason): void {
    for (const room of [...this.rooms.values()]) room.close(reason);
  }

  private getOrCreate(id: string): Room {
    let room = this.rooms.get(id);
    if (!room) {
      const o = this.options;
      room = new Room(id, {
        topology: o.topology ?? 'mesh',
        maxMembers: o.maxMembers,
        log: o.log.child({ room: id }),
        iceServers: o.iceServers ?? [],
        media: o.media,
        onMembers: (delta) => { this.participantCount += delta; this.changed(); },
        onClosed: (r) => {
          if (this.rooms.get(r.id) === r) this.rooms.delete(r.id);
          this.changed();
        },
      });
      this.rooms.set(id, room);
      room.log.info('room created');
      this.changed();
    }
    return room;
  }

  private changed(): void {
    this.options.onChange?.(this.rooms.size, this.participantCount);
  }
}
