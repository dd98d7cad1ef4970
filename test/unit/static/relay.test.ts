/** The call page's relaying helpers (static/js/relay.js), run in Node. */
import { describe, expect, it } from 'vitest';
import {
  hasTurnServer, iceTransportPolicy, isCredentialRefusal, NO_RELAY_TEXT, relayOnly, relayProblemText, RELAY_REFUSED_TEXT,
// @ts-expect-error plain JS module of the pages (no types)
} from '../../../static/js/relay.js';

describe('relaying on the call page', () => {
  it('relays only with relay=1 in the address', () => {
    expect(relayOnly('?name=Ada&relay=1')).toBe(true);
    expect(relayOnly('?relay=0')).toBe(false);
    expect(relayOnly('?relay')).toBe(false);
    expect(relayOnly('')).toBe(false);
    expect(iceTransportPolicy(true)).toBe('relay');
    expect(iceTransportPolicy(false)).toBe('all');
  });

  it('finds a TURN server among the joined iceServers, urls a string or a list', () => {
    expect(hasTurnServer([{ urls: 'stun:127.0.0.1:3478' }])).toBe(false);
    expect(hasTurnServer([{ urls: ['stun:a:1', 'turn:127.0.0.1:3478?transport=udp'], username: 'u', credential: 'p' }])).toBe(true);
    expect(hasTurnServer([{ urls: 'turns:relay.example:5349' }])).toBe(true);
    expect(hasTurnServer([])).toBe(false);
    expect(hasTurnServer(undefined)).toBe(false);
  });

  it('takes 401 and 403 from a TURN server for refused credentials, not an unreachable server or a STUN error', () => {
    expect(isCredentialRefusal({ errorCode: 401, url: 'turn:127.0.0.1:3478?transport=udp' })).toBe(true);
    expect(isCredentialRefusal({ errorCode: 403, url: 'turns:relay.example:5349' })).toBe(true);
    expect(isCredentialRefusal({ errorCode: 701, url: 'turn:127.0.0.1:3478' })).toBe(false);
    expect(isCredentialRefusal({ errorCode: 401, url: 'stun:127.0.0.1:3478' })).toBe(false);
    expect(isCredentialRefusal({ errorCode: 401 })).toBe(false);
  });

  it('says in plain words what went wrong: no relay offered, credentials refused, or no answer', () => {
    expect(relayProblemText({ hasTurn: false })).toBe(NO_RELAY_TEXT);
    expect(relayProblemText({ hasTurn: true, refused: true, who: 'Bob' })).toBe(RELAY_REFUSED_TEXT);
    expect(RELAY_REFUSED_TEXT).toMatch(/refused this call's credentials.*Leave and join again/);
    const silent = relayProblemText({ hasTurn: true, refused: false, who: 'Bob' }) as string;
    expect(silent).toContain('Could not connect to Bob through the relay server');
    expect(silent).toContain('Leave and join again');
  });
});
