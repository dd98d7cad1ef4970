import { describe, expect, it } from 'vitest';
import { parseRoomUrl } from '../../../src/client/room-url.js';
import { CallpeerError } from '../../../src/errors.js';

describe('parseRoomUrl', () => {
  it('turns call links into a signaling URL and a room', () => {
    expect(parseRoomUrl('https://calls.example:8443/r/team-sync')).toEqual({ wsUrl: 'wss://calls.example:8443/ws', room: 'team-sync' });
    expect(parseRoomUrl('http://127.0.0.1:8080/r/a_b/')).toEqual({ wsUrl: 'ws://127.0.0.1:8080/ws', room: 'a_b' });
  });
  it('takes a ws URL with an explicit room', () => {
    expect(parseRoomUrl('ws://localhost:8080/ws', 'x')).toEqual({ wsUrl: 'ws://localhost:8080/ws', room: 'x' });
    expect(parseRoomUrl('wss://h', 'x')).toEqual({ wsUrl: 'wss://h/ws', room: 'x' });
  });
  it.each([['not a url', undefined], ['http://h/', undefined], ['http://h/r/bad%20name', undefined], ['ftp://h/r/x', undefined], ['ws://h/ws', 'no way']])('refuses %s with INVALID_CONFIG', (link, room) => {
    try {
      parseRoomUrl(link, room);
      expect.unreachable();
    } catch (err) {
      expect((err as CallpeerError).code).toBe('INVALID_CONFIG');
    }
  });
});
