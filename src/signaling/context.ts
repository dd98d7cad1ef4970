import type { ServeConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { JoinRequest } from '../rooms/member.js';
import type { RoomSession } from '../rooms/member-messages.js';
import type { RoomRegistry } from '../rooms/registry.js';
import type { Counter } from 'prom-client';
import type { SignalingSession } from './session.js';

/** The counters signaling bumps; the server's metrics (src/server) provide them. */
export interface SignalingMetrics {
  readonly messages: Counter<'type' | 'direction'>;
  readonly errors: Counter<'code'>;
  readonly slowReaders: Counter;
}

/** What the signaling handlers share: the server's config, rooms, metrics and logger. */
export interface SignalingContext {
  readonly config: Readonly<ServeConfig>;
  readonly rooms: RoomRegistry;
  /** Joins a room wherever it lives: here (the registry), or on another node of the cluster. */
  join(roomId: string, session: SignalingSession, request: JoinRequest, token: string | undefined): Promise<RoomSession>;
  readonly metrics: SignalingMetrics;
  readonly log: Logger;
  /** A socket that is in no room for this long is closed with SIGNALING_TIMEOUT (ms). */
  readonly joinTimeoutMs: number;
  sessionClosed(session: SignalingSession): void;
}
