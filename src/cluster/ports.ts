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
}

export interface BusPort {
  onMessage(handler: (message: NodeMessage) => void): void;
  /** Sends to one node; order is kept per sender. Failures are logged, not thrown (the beat notices dead nodes). */
  send(nodeId: string, message: NodeMessage): void;
}

/** A directory and a bus, and how to let go of them. */
export interface ClusterTransport {
  readonly directory: DirectoryPort;
  readonly bus: BusPort;
  /** What the log says this node joined (`redis://…`, `workers`). */
  readonly name: string;
  close(): Promise<void>;
}
