/** Every SFU room's media side, made on first use and dropped when its last member leaves. */
import type { Logger } from '../log.js';
import type { PeerOptions } from '../rtc/peer.js';
import { SfuRoom } from './sfu-room.js';

export class SfuService {
  private readonly rooms = new Map<string, SfuRoom>();

  constructor(private readonly options: { log: Logger; peer?: Omit<PeerOptions, 'id' | 'logger' | 'polite' | 'capabilities'> }) {}

  room(id: string, log: Logger): SfuRoom {
    let room = this.rooms.get(id);
    if (!room) {
      room = new SfuRoom(id, { log, ...(this.options.peer && { peer: this.options.peer }) });
      this.rooms.set(id, room);
    }
    return room;
  }

  leave(roomId: string, memberId: string): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    room.leave(memberId);
    if (room.size === 0) this.rooms.delete(roomId);
  }

  /** Members with a live server connection, all rooms together. */
  get connections(): number {
    let n = 0;
    for (const r of this.rooms.values()) n += r.size;
    return n;
  }

  close(): void {
    for (const r of this.rooms.values()) r.close();
    this.rooms.clear();
  }
}
