import type { Logger } from '../log.js';
import type { Participant, RoomInfo, ServerMessage, Topology } from '../protocol/signaling.js';

/** What a room needs of a member: its public state and a way to send it a message. */
export interface Member {
  readonly id: string;
  readonly participant: Participant;
  send(message: ServerMessage): void;
}

export interface RoomSnapshot {
  id: string;
  topology: Topology;
  maxMembers: number;
  createdAt: string;
  ageSeconds: number;
  participants: Participant[];
}

/** A call room: its members, keyed by id, in join order. Knows nothing of sockets or media. */
export class Room {
  readonly members = new Map<string, Member>();
  readonly createdAt = Date.now();

  constructor(
    readonly id: string,
    readonly topology: Topology,
    readonly maxMembers: number,
    readonly log: Logger,
  ) {}

  get size(): number {
    return this.members.size;
  }

  get isFull(): boolean {
    return this.members.size >= this.maxMembers;
  }

  info(): RoomInfo {
    return { id: this.id, topology: this.topology, maxMembers: this.maxMembers };
  }

  /** Everyone but `exceptId`, as the protocol's participant objects. */
  participants(exceptId?: string): Participant[] {
    const list: Participant[] = [];
    for (const m of this.members.values()) if (m.id !== exceptId) list.push(m.participant);
    return list;
  }

  add(member: Member): void {
    this.members.set(member.id, member);
  }

  /** Removes a member; returns whether it was there. */
  remove(id: string): boolean {
    return this.members.delete(id);
  }

  get(id: string): Member | undefined {
    return this.members.get(id);
  }

  /** Sends to every member but `exceptId`. The message is serialized once per member by its socket. */
  broadcast(message: ServerMessage, exceptId?: string): void {
    for (const m of this.members.values()) if (m.id !== exceptId) m.send(message);
  }

  snapshot(now = Date.now()): RoomSnapshot {
    return {
      id: this.id,
      topology: this.topology,
      maxMembers: this.maxMembers,
      createdAt: new Date(this.createdAt).toISOString(),
      ageSeconds: Math.round((now - this.createdAt) / 1000),
      participants: this.participants(),
    };
  }
}
