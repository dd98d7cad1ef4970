/**
 * The one error type of callpeer. `code` is stable: the wire protocol's error codes
 * (PROTOCOL.md) plus a few local ones that never go on the wire (config, I/O, network).
 * Tests and callers branch on `code`, never on the message.
 */
export const WIRE_ERROR_CODES = [
  'INVALID_MESSAGE',
  'INVALID_SDP',
  'ROOM_NOT_FOUND',
  'ROOM_FULL',
  'UNAUTHORIZED',
  'ALREADY_JOINED',
  'NOT_IN_ROOM',
  'PEER_NOT_FOUND',
  'SIGNALING_TIMEOUT',
  'CODEC_NOT_SUPPORTED',
  'SFU_NOT_ENABLED',
  'RATE_LIMITED',
  'MESSAGE_TOO_LARGE',
  'INTERNAL',
  // PCM pairing (/ws/pcm)
  'PAIR_FULL',
  // The room API (HTTP): a room with that id exists already (409)
  'ROOM_EXISTS',
  // (v2) SFU rooms: a subscribe, unsubscribe or layer naming no such track
  'TRACK_NOT_FOUND',
] as const;

export const LOCAL_ERROR_CODES = [
  /** A flag, environment variable or option has a bad value. */
  'INVALID_CONFIG',
  /** The port to listen on is taken. */
  'ADDRESS_IN_USE',
  /** A server could not be reached, or the connection dropped. */
  'CONNECTION_FAILED',
  /** A file could not be read or written. */
  'IO_ERROR',
  /** The object was closed; pending work is rejected with this. */
  'CLOSED',
  /** Bytes that do not parse as the format they claim to be (RTP, Ogg, WAV...). */
  'PARSE_ERROR',
  /** A wait ran out of time. */
  'TIMEOUT',
] as const;

export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];
export type LocalErrorCode = (typeof LOCAL_ERROR_CODES)[number];
export type ErrorCode = WireErrorCode | LocalErrorCode;

const wireCodes: ReadonlySet<string> = new Set(WIRE_ERROR_CODES);

export function isWireErrorCode(code: string): code is WireErrorCode {
  return wireCodes.has(code);
}

export interface CallpeerErrorOptions {
  cause?: unknown;
  /** The offending message `type`, echoed as `ref` in a wire error. */
  ref?: string;
  /** A plain-language hint on how to fix it (the CLI prints it). */
  hint?: string;
}

export class CallpeerError extends Error {
  readonly code: ErrorCode;
  readonly ref: string | undefined;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: CallpeerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CallpeerError';
    this.code = code;
    this.ref = options.ref;
    this.hint = options.hint;
  }
}

export function isCallpeerError(err: unknown, code?: ErrorCode): err is CallpeerError {
  return err instanceof CallpeerError && (code === undefined || err.code === code);
}

/** Wraps anything thrown into a CallpeerError, keeping the original as `cause`. */
export function toCallpeerError(err: unknown, fallback: ErrorCode = 'INTERNAL'): CallpeerError {
  if (err instanceof CallpeerError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CallpeerError(fallback, message, { cause: err });
}
