/**
 * What nodes say to each other over the bus (one JSON message on the channel of the node it is
 * for). A member whose WebSocket reached node S while its room lives on node R: S relays its
 * join (a `call`, see NodeCalls) and in-room messages to R (`in`, `leave`), R relays what the
 * room says to it back to S (`out`, `detached`).
 */
import type { ServerMessage, Topology } from '../protocol/signaling.js';
import type { Admission } from '../rooms/access.js';
import type { InRoomMessage } from '../rooms/member-messages.js';
import type { JoinRequest, LeaveReason } from '../rooms/member.js';

/** A join as it crosses nodes: the request without what only the socket's node can hold. */
export type RemoteJoinRequest = Omit<JoinRequest, 'admission' | 'leg'>;

/** The arguments of the `join` call (NodeCalls) a client's node makes to the room's node. */
export interface JoinCall {
  session: string;
  room: string;
  request: RemoteJoinRequest;
  token?: string;
  /** The client's transport, when it is not a WebSocket session (WHIP/WHEP: see MemberSink). */
  transport?: { oneShot: boolean; viewing?: { publisher?: string } };
}

/** The room's node's answer to a `join`: what the client's node needs of the member. */
export interface JoinReply { topology: Topology; admission: Admission }

export type NodeMessage =
  | { t: 'call'; from: string; rpc: number; method: string; args: unknown }
  | { t: 'reply'; rpc: number; result?: unknown; error?: { code: string; message: string; hint?: string; ref?: string } }
  | { t: 'in'; from: string; session: string; message: InRoomMessage }
  | { t: 'leave'; from: string; session: string; reason: LeaveReason }
  | { t: 'out'; session: string; message: ServerMessage }
  | { t: 'detached'; session: string; reason: LeaveReason };
