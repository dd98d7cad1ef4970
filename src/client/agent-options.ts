/** What a room member in Node (MeshAgent, SfuAgent) is made from, and what both share. */
import type { Logger } from '../log.js';
import type { JoinRole } from '../protocol/signaling.js';
import type { PeerOptions } from '../rtc/peer.js';
import type { JoinParams, SignalingClientOptions } from './signaling-client.js';

export interface AgentOptions {
  /** Signaling endpoint, ws(s)://host/ws (see parseRoomUrl). */
  wsUrl: string;
  room: string;
  name?: string;
  role?: JoinRole;
  token?: string;
  /** Announced in `join` (and shown by pages as mute state). Default true. */
  audio?: boolean;
  /** Announced in `join`: this member sends camera video (an SFU room lists its camera unmuted). Default false. */
  video?: boolean;
  metadata?: Record<string, unknown>;
  /** (v2, SFU rooms) Receive every track as it appears (default true); false: only what we `subscribe` to. */
  autoSubscribe?: boolean;
  log?: Logger;
  /** Options for every Peer (bindAddress, capabilities, …). iceServers default to the server's `joined.iceServers`. */
  peer?: Omit<PeerOptions, 'id' | 'logger' | 'polite'>;
  /**
   * More options for the one connection to an SFU server, over `peer`. A process with many
   * members can share one UDP port here (enableIceUdpMux with a one-port range): each
   * member's connection goes to its own server port, so the shared socket can tell them
   * apart. Not for mesh rooms, where members of one process would talk through one port.
   */
  sfuPeer?: Omit<PeerOptions, 'id' | 'logger' | 'polite'>;
  /** Passed to the signaling client (reconnect backoff, timeouts, insecure TLS). */
  signaling?: Omit<SignalingClientOptions, 'log'>;
  /**
   * Mesh rooms: how often to report to the server what we receive from each participant
   * (`stats`, from which the server makes everyone's `quality`), ms. Default 2500; 0 sends none.
   * SFU rooms send none: the server measures.
   */
  statsIntervalMs?: number;
}

/** See AgentOptions.statsIntervalMs (PROTOCOL.md asks for a report every 2-5 s per link). */
export const DEFAULT_STATS_INTERVAL_MS = 2500;

export { RETRY_DELAYS_MS } from '../rtc/peer-types.js';

export function joinParams(o: AgentOptions): JoinParams {
  return {
    room: o.room,
    ...(o.name !== undefined && { name: o.name }),
    ...(o.role !== undefined && { role: o.role }),
    ...(o.token !== undefined && { token: o.token }),
    ...(o.metadata !== undefined && { metadata: o.metadata }),
    ...(o.autoSubscribe !== undefined && { autoSubscribe: o.autoSubscribe }),
    audio: o.audio ?? true,
    video: o.video ?? false,
  };
}
