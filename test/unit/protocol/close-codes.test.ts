import { describe, expect, it } from 'vitest';
import { WIRE_ERROR_CODES } from '../../../src/errors.js';
import {
  CLOSE_GOING_AWAY, CLOSE_INTERNAL, CLOSE_INVALID_PAYLOAD, CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TOO_BIG, closeCodeFor, mayReconnectAfter,
} from '../../../src/protocol/close-codes.js';

describe('close codes', () => {
  it('are the RFC 6455 numbers', () => {
    expect([CLOSE_NORMAL, CLOSE_GOING_AWAY, CLOSE_INVALID_PAYLOAD, CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_INTERNAL]).toEqual([1000, 1001, 1007, 1008, 1009, 1011]);
  });

  it('a connection ended over a client error closes as policy, over size 1009, over a server failure 1011', () => {
    for (const code of ['INVALID_MESSAGE', 'UNAUTHORIZED', 'PAIR_FULL', 'SIGNALING_TIMEOUT', 'RATE_LIMITED', 'ROOM_FULL'] as const) {
      expect(closeCodeFor(code), code).toBe(CLOSE_POLICY);
    }
    expect(closeCodeFor('MESSAGE_TOO_LARGE')).toBe(CLOSE_TOO_BIG);
    expect(closeCodeFor('INTERNAL')).toBe(CLOSE_INTERNAL);
  });

  it('every wire error code has a close code a server may send', () => {
    for (const code of WIRE_ERROR_CODES) expect([CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_INTERNAL], code).toContain(closeCodeFor(code));
  });

  it('clients reconnect after anything but a policy close', () => {
    expect(mayReconnectAfter(CLOSE_POLICY)).toBe(false);
    for (const code of [CLOSE_NORMAL, CLOSE_GOING_AWAY, 1006, CLOSE_TOO_BIG, CLOSE_INTERNAL]) expect(mayReconnectAfter(code), String(code)).toBe(true);
  });
});
