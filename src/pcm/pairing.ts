/**
 * /ws/pcm when this server is one node of many (`serve --redis`, `serve --workers`): the service
 * asks where each client pairs (or where its room lives), and a client whose pair or room is
 * hosted on another node has its frames relayed there and the host's frames relayed back. The
 * cluster layer implements PcmPairing; these types keep src/pcm free of it.
 */
import type { WebSocket } from 'ws';
import type { PcmParams } from '../protocol/pcm.js';

/** A client's link to the node hosting its pair or room: what the client sends goes there as it came. */
export interface PcmUplink {
  forward(data: Buffer, isBinary: boolean): void;
  /** The client's socket closed. */
  close(): void;
}

/** What the hosting node sends back for the client, handled by the client's node. */
export interface PcmDownlink {
  /** Audio in the client's own format. */
  audio(frame: Buffer): void;
  /** A JSON text frame, as the host wrote it. */
  text(json: string): void;
  /** The host closed the client (refused, too many bad frames, out of its room, shutting down). */
  close(code: number, reason: string): void;
  /** Its pair ended (after `disconnected`): the client pairs again from its own node. */
  released(): void;
}

export type Placement =
  /** Pair here: in the local queue (listed cluster-wide, or as the home of its code), or with this node's waiting client `partner`. Room clients: the room lives here. */
  | { kind: 'here'; partner?: string }
  /** Hosted by another node: the uplink carries the client's frames there. */
  | { kind: 'relayed'; link: PcmUplink };

/** A client of another node that this node is asked to host. */
export interface AdoptRequest {
  params: PcmParams;
  muted: boolean;
  /** Pair with this node's waiting client of that id (the cluster-wide queue gave it). */
  waiter?: string;
  /** Its pair just ended and it was told `waiting` already. */
  requeued?: boolean;
}

/** The service as the cluster sees it. */
export interface PcmHost {
  /**
   * Hosts a client of another node behind `socket` (which relays to that node): with a code (this
   * node is its home), for a waiting client, or into its room. Throws PAIR_FULL, or
   * PEER_NOT_FOUND when `waiter` no longer waits. `release` hands the client back to its node.
   */
  adopt(socket: WebSocket, request: AdoptRequest, release: () => void): void;
  /** Codes held here now (a client waiting with one, or a pair made with it). */
  codesInUse(): Iterable<string>;
}

export interface PcmPairing {
  bind(host: PcmHost): void;
  /**
   * Where a client pairs (or, with `params.room`, where its room lives). `requeued`: its pair
   * just ended and it was told `waiting` already. Throws PAIR_FULL.
   */
  place(peerId: string, params: PcmParams, muted: boolean, down: PcmDownlink, requeued: boolean): Promise<Placement>;
  /** A client of this node stopped waiting without a code (paired or gone): out of the cluster's queue. */
  unlisted(peerId: string): void;
}
