/**
 * WebSocket close codes (RFC 6455 §7.4.1) as /ws and /ws/pcm use them, and the one table from
 * a wire error code to the close code of a connection ended over it. docs/errors.md lists
 * when each is sent; clients branch on these constants, never on the reason text.
 */
import type { WireErrorCode } from '../errors.js';

/** A clean goodbye: a client leaving, a deleted room. */
export const CLOSE_NORMAL = 1000;
/** The server is shutting down: clients reconnect later, with backoff. */
export const CLOSE_GOING_AWAY = 1001;
/** A text frame that is not UTF-8. Sent by the ws layer, not by our code. */
export const CLOSE_INVALID_PAYLOAD = 1007;
/**
 * The client broke a rule (the abuse limit, the join timeout, a slow reader, bad parameters,
 * a taken pair code, refused tokens): reconnecting would repeat it, so clients do not.
 */
export const CLOSE_POLICY = 1008;
/** A frame over the hard size limit (1 MiB). Sent by the ws layer (maxPayload). */
export const CLOSE_TOO_BIG = 1009;
/** The server failed, not the client. Not sent today: a handler failure is answered INTERNAL and the socket stays. */
export const CLOSE_INTERNAL = 1011;

export type CloseCode =
  | typeof CLOSE_NORMAL | typeof CLOSE_GOING_AWAY | typeof CLOSE_INVALID_PAYLOAD
  | typeof CLOSE_POLICY | typeof CLOSE_TOO_BIG | typeof CLOSE_INTERNAL;

/** Every wire error code has its row: a new code does not compile until it is given one. */
const CLOSE_CODES: Readonly<Record<WireErrorCode, CloseCode>> = {
  // What the client sent or asked for: if it costs the connection, that is policy.
  INVALID_MESSAGE: CLOSE_POLICY,
  INVALID_SDP: CLOSE_POLICY,
  ROOM_NOT_FOUND: CLOSE_POLICY,
  ROOM_FULL: CLOSE_POLICY,
  ROOM_EXISTS: CLOSE_POLICY,
  UNAUTHORIZED: CLOSE_POLICY,
  ALREADY_JOINED: CLOSE_POLICY,
  NOT_IN_ROOM: CLOSE_POLICY,
  PEER_NOT_FOUND: CLOSE_POLICY,
  SIGNALING_TIMEOUT: CLOSE_POLICY,
  CODEC_NOT_SUPPORTED: CLOSE_POLICY,
  SFU_NOT_ENABLED: CLOSE_POLICY,
  RATE_LIMITED: CLOSE_POLICY,
  PAIR_FULL: CLOSE_POLICY,
  TRACK_NOT_FOUND: CLOSE_POLICY,
  // RFC 6455's own code for a message too big to process.
  MESSAGE_TOO_LARGE: CLOSE_TOO_BIG,
  INTERNAL: CLOSE_INTERNAL,
};

/**
 * The close code for a connection ended over the error `code` (after the error frame that
 * says why). The abuse limit is a policy close whatever the last refusal was: CLOSE_POLICY.
 */
export function closeCodeFor(code: WireErrorCode): CloseCode {
  return CLOSE_CODES[code];
}

/**
 * Whether a client should reconnect after the server closed with `code`: not after a policy
 * close, which would only repeat.
 */
export function mayReconnectAfter(code: number): boolean {
  return code !== CLOSE_POLICY;
}
