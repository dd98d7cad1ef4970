import type { Logger } from '../log.js';
import type { Topology } from '../protocol/signaling.js';
import { Room, type RoomSnapshot } from './room.js';

export interface RoomRegistryOptions {
  log: Logger;
  /** Capacity of a room created on first join. */
  maxMembers: number;
  /** Topology of a room created on first join. */
  topology?: Topology;
  /** Called when the number of rooms or participants changes (metrics). */
  onChange?: (rooms: number, participants: number) => void;
}

/** All rooms of a server. A room springs into being on first join and goes when its last member leaves. */
export class RoomRegistry {
  private readonly rooms = new Map<string, Room>();
  private participantCount = 0;

  constructor(private readonly options: RoomRegistryOptions) {}

  get(id: string): Room | undefined {
    return this.rooms.get(id);
  }

  getOrCreate(id: string): Room {
    let room = this.rooms.get(id);
    if (!room) {
      room = new Room(id, this.options.topology ?? 'mesh', this.options.maxMembers, this.options.log.child({ room: id }));
      this.rooms.set(id, room);
      room.log.info('room created');
    }
    return room;
  }

  /** Bookkeeping after a member joined (the room itself holds the member). */
  joined(): void {
    this.participantCount++;
    this.changed();
  }

  /** Bookkeeping after a member left; drops the room when it is empty. */
  left(room: Room): void {
    this.participantCount--;
    if (room.size === 0 && this.rooms.get(room.id) === room) {
      this.rooms.delete(room.id);
      room.log.info('room closed');
    }
    this.changed();
  }

  list(): RoomSnapshot[] {
    const now = Date.now();
    return [...this.rooms.values()].map((r) => r.snapshot(now));
  }

  get size(): number {
    return this.rooms.size;
  }

  private changed(): void {
    this.options.onChange?.(this.rooms.size, this.participantCount);
  }
}
