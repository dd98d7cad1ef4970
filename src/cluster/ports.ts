/**
 * What a node of a cluster needs from whatever connects the nodes: a directory (who is alive,
 * where each room lives, in entries that expire unless refreshed) and a bus (a message to one
 * node). Redis provides both across machines (`serve --redis`); on one machine without Redis
 * the primary process of `serve --workers` does (src/cluster/ipc.ts).
 */
import type { NodeMessage } from './wire.js';

export interface NodeInfo {
  id: string;
  /** Participants in its rooms: what "least loaded" compares. */
  load: number;
}

export interface DirectoryPort {
  /** A node whose entry is not refreshed for this long is gone, ms. */
  readonly ttlMs: number;
  /** One beat: this node's entry (with its load) and its rooms' entries live for another TTL. */
  beat(node: NodeInfo, rooms: Iterable<string>): Promise<void>;
  alive(nodeId: string): Promise<boolean>;
  /** Live nodes. */
  nodes(): Promise<NodeInfo[]>;
  /** The node `roomId` lives on: its live owner, else `candidate` (now the owner). */
  claim(roomId: string, candidate: string): Promise<string>;
  /** The live node `roomId` lives on, if any. */
  ownerOf(roomId: string): Promise<string | undefined>;
  /** The room closed on `nodeId`: its entry goes (unless another node took it meanwhile). */
  release(roomId: string, nodeId: string): Promise<void>;
  /** This node is stopping: its entry goes now. */
  leave(nodeId: string): Promise<void>;
  /** Entries `nodeId` claimed besides its rooms (PCM pair codes) live for another TTL. */
  hold(nodeId: string, keys: Iterable<string>): Promise<void>;
  /**
   * A first-come-first-served queue (PCM clients waiting for a partner), atomic across nodes:
   * takes the oldest entry of `queue` and returns it, or, when there is none, appends `entry`
   * and returns undefined. Entries do not expire: whoever takes one checks that it still waits.
   */
  takeOrWait(queue: string, entry: string): Promise<string | undefined>;
  /** `entry` stopped waiting (paired or gone): out of `queue`. */
  unlist(queue: string, entry: string): Promise<void>;
}

export interface BusPort {
  onMessage(handler: (message: NodeMessage) => void): void;
  /** Sends to one node; order is kept per sender. Rejects when the link to the others is down (Redis unreachable). */
  send(nodeId: string, message: NodeMessage): Promise<void>;
  /**
   * Binary frames (relayed PCM audio): no JSON, no base64 where the transport can help it.
   * Kept in order with `send`'s messages from the same sender.
   */
  onFrame(handler: (frame: Buffer) => void): void;
  sendFrame(nodeId: string, frame: Buffer): void;
}

/** A directory and a bus, and how to let go of them. */
export interface ClusterTransport {
  readonly directory: DirectoryPort;
  readonly bus: BusPort;
  /** What the log says this node joined (`redis://…`, `workers`). */
  readonly name: string;
  close(): Promise<void>;
}
