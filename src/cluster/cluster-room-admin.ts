/**
 * The room API across nodes: whichever node a request reaches answers for every node's rooms.
 * Each node serves its own rooms to the others (NodeCalls methods `rooms.<method>`); a list
 * asks every live node and merges, a room is inspected, deleted, kicked from and muted on the
 * node it lives on, and a room is created on the least loaded node, claimed in the directory
 * as a join would (ROOM_EXISTS when it lives anywhere). Rooms gain `node`, the node they live on.
 * Errors a node raises cross as the same CallpeerError; auth stays with the node reached.
 */
import type { Logger } from '../log.js';
import type { MediaKinds } from '../rooms/member.js';
import type { RoomRegistry, RoomSpec } from '../rooms/registry.js';
import type { RoomAdmin, RoomView } from '../rooms/room-admin.js';
import type { ClusterRooms } from './cluster-rooms.js';

export interface ClusterRoomAdminOptions {
  cluster: ClusterRooms;
  /** This node's rooms. */
  rooms: RoomRegistry;
  log: Logger;
  /** How long another node may take to answer, ms (a list waits for the slowest). Default 2000. */
  timeoutMs?: number;
}

/** The RoomAdmin methods a node serves for its own rooms. */
const METHODS = ['list', 'create', 'snapshot', 'has', 'delete', 'kick', 'mute'] as const;
type Method = (typeof METHODS)[number];
type Result<M extends Method> = Awaited<ReturnType<RoomAdmin[M]>>;

export class ClusterRoomAdmin implements RoomAdmin {
  private readonly cluster: ClusterRooms;
  private readonly rooms: RoomRegistry;
  private readonly log: Logger;
  private readonly timeoutMs: number;

  constructor(options: ClusterRoomAdminOptions) {
    this.cluster = options.cluster;
    this.rooms = options.rooms;
    this.log = options.log.child({ component: 'room-api' });
    this.timeoutMs = options.timeoutMs ?? 2000;
    const local = this.rooms as unknown as Record<Method, (...args: unknown[]) => unknown>;
    for (const m of METHODS) this.cluster.calls.serve(`rooms.${m}`, (args: unknown[]) => local[m]!.apply(this.rooms, args));
  }

  /** Every live node's rooms, by id. A node that does not answer in time is left out (and logged): it is going, or its key would be fresh. */
  async list(): Promise<RoomView[]> {
    const nodes = await this.cluster.nodeIds();
    const lists = await Promise.all(nodes.map(async (node) => {
      try {
        return (await this.on(node, 'list')).map((room) => ({ ...room, node }));
      } catch (err) {
        this.log.warn({ err, node }, 'a node did not list its rooms');
        return [];
      }
    }));
    // Sorted, so every node answers the same list in the same order.
    return lists.flat().sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  }

  async create(spec: RoomSpec): Promise<RoomView | undefined> {
    if (this.rooms.get(spec.id)) return undefined;
    const node = await this.cluster.place(spec.id);
    // The room's node refuses (undefined) when the room lives there already.
    const made = await this.on(node, 'create', spec);
    return made && { ...made, node };
  }

  async snapshot(id: string): Promise<RoomView | undefined> {
    const node = await this.nodeOf(id);
    const room = node === undefined ? undefined : await this.on(node, 'snapshot', id);
    return room && { ...room, node: node! };
  }

  async has(id: string): Promise<boolean> {
    const node = await this.nodeOf(id);
    // Asked of the node: a room claimed for a join it refused has a key for a few seconds, and no room.
    return node !== undefined && this.on(node, 'has', id);
  }

  async delete(id: string): Promise<boolean> {
    const node = await this.nodeOf(id);
    return node !== undefined && this.on(node, 'delete', id);
  }

  async kick(roomId: string, memberId: string, reason: string): Promise<boolean> {
    const node = await this.nodeOf(roomId);
    return node !== undefined && this.on(node, 'kick', roomId, memberId, reason);
  }

  async mute(roomId: string, memberId: string, kinds: MediaKinds): Promise<boolean> {
    const node = await this.nodeOf(roomId);
    return node !== undefined && this.on(node, 'mute', roomId, memberId, kinds);
  }

  /** The node `id` lives on. A room here is answered here, without asking the directory. */
  private async nodeOf(id: string): Promise<string | undefined> {
    return this.rooms.get(id) ? this.cluster.nodeId : this.cluster.ownerOf(id);
  }

  /** `method` on `node`'s own rooms: this node's registry, or a call to that node. */
  private async on<M extends Method>(node: string, method: M, ...args: Parameters<RoomAdmin[M]>): Promise<Result<M>> {
    if (node === this.cluster.nodeId) return (this.rooms[method] as (...a: unknown[]) => Promise<Result<M>>).apply(this.rooms, args);
    // A call's reply carries null for undefined (JSON).
    return (await this.cluster.calls.call<Result<M> | null>(node, `rooms.${method}`, args, this.timeoutMs)) ?? (undefined as Result<M>);
  }
}
