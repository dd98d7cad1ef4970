/**
 * Who may join: the rooms ask an AccessPolicy and never read a token themselves, so auth
 * (src/auth) plugs in from the composition root like the media stacks do.
 */
import type { Role } from '../protocol/signaling.js';

/** What a join brings to be admitted. */
export interface AccessRequest {
  /** `join.token`, if any. */
  token: string | undefined;
  roomId: string;
  /** The role the join asks for (`participant` when it names none). */
  role: Role;
}

/** What the policy grants a member. */
export interface Admission {
  /** The token's `sub`; absent for guests and when auth is off. */
  identity?: string;
  guest: boolean;
  /** The token's display name: wins over `join.name`. */
  name?: string;
  /** May send media (an SFU refuses its send sections otherwise). */
  publish: boolean;
  /** May receive media. */
  subscribe: boolean;
  /** May open a room that does not exist yet. */
  mayCreateRoom: boolean;
}

export interface AccessPolicy {
  /** Resolves with what the member may do, or rejects with UNAUTHORIZED saying why. */
  admit(request: AccessRequest): Promise<Admission>;
  /** True when joins need tokens (rooms then exist only once created). */
  readonly enabled: boolean;
}

/** No auth: everyone may join any room, with any role, and rooms spring into being. */
export const OPEN_ACCESS: AccessPolicy = {
  enabled: false,
  admit: async () => ({ guest: false, publish: true, subscribe: true, mayCreateRoom: true }),
};
