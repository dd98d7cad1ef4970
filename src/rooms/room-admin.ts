/**
 * What the room API (src/server/room-api.ts) asks of rooms. The RoomRegistry answers for the
 * rooms of this process; in a cluster, ClusterRoomAdmin (src/cluster/cluster-room-admin.ts)
 * answers for every node's, asking each room's node.
 */
import type { MediaKinds } from './member.js';
import type { RoomSpec } from './registry.js';
import type { RoomSnapshot } from './room.js';

/** A room as the API shows it. */
export interface RoomView extends RoomSnapshot {
  /** The node the room lives on: only in a cluster (`serve --redis`, `--workers`). */
  node?: string;
}

export interface RoomAdmin {
  list(): Promise<RoomView[]>;
  /** Creates a room that stays until deleted; undefined if one with that id exists (anywhere). */
  create(spec: RoomSpec): Promise<RoomView | undefined>;
  snapshot(id: string): Promise<RoomView | undefined>;
  has(id: string): Promise<boolean>;
  /** False if there is no such room. */
  delete(id: string): Promise<boolean>;
  /** False if there is no such room or member. */
  kick(roomId: string, memberId: string, reason: string): Promise<boolean>;
  /** False if there is no such room or member. */
  mute(roomId: string, memberId: string, kinds: MediaKinds): Promise<boolean>;
}
