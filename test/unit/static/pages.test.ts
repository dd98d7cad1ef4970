/** The browser pages' pure modules, run in Node: room names and connection quality. */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module of the pages (no types)
import { assessQuality } from '../../../static/js/quality.js';
// @ts-expect-error plain JS module of the pages (no types)
import { ROOM_ID_PATTERN, randomInviteCode, randomRoomName, roomNameProblem, roomUrl } from '../../../static/js/rooms.js';
import { ROOM_ID_PATTERN as PROTOCOL_ROOM_ID_PATTERN } from '../../../src/protocol/signaling.js';

describe('room names on the pages', () => {
  it('use the protocol\'s pattern', () => {
    expect(String(ROOM_ID_PATTERN)).toBe(String(PROTOCOL_ROOM_ID_PATTERN));
  });

  it('random names read like "brave-otter-42" and are valid room ids', () => {
    const names = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const n = randomRoomName() as string;
      expect(n).toMatch(/^[a-z]+-[a-z]+-[1-9]\d$/);
      expect(roomNameProblem(n)).toBe('');
      names.add(n);
    }
    expect(names.size).toBeGreaterThan(150);
  });

  it('invite codes carry 128 random bits in the room-id charset, so nobody guesses one and takes the slot', () => {
    const codes = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const c = randomInviteCode() as string;
      expect(c).toMatch(/^[A-Za-z0-9_-]{22}$/);
      codes.add(c);
    }
    expect(codes.size).toBe(1000);
    // every base64url character shows up: the bits are spread over the whole alphabet
    expect(new Set([...codes].join('')).size).toBe(64);
  });

  it('explain what is wrong with a typed name', () => {
    expect(roomNameProblem('')).toMatch(/type a room name/i);
    expect(roomNameProblem('a b')).toMatch(/no spaces/);
    expect(roomNameProblem('é')).toMatch(/letters, digits/);
    expect(roomNameProblem('x'.repeat(65))).toMatch(/64/);
    expect(roomNameProblem('x'.repeat(64))).toBe('');
    expect(roomNameProblem('Team_standup-2')).toBe('');
  });

  it('links are /r/<room> on the given origin', () => {
    expect(roomUrl('brave-otter-42', 'https://call.example')).toBe('https://call.example/r/brave-otter-42');
  });
});

describe('assessQuality', () => {
  it('calls a clean, fast connection good', () => {
    expect(assessQuality({ received: 0, lost: 0 }, { received: 500, lost: 0, rttMs: 1.4 })).toEqual({ lossPct: 0, rttMs: 1, verdict: 'good' });
  });

  it('measures loss over the interval, not since the start', () => {
    // 10 lost long ago, then 5 of 100 in this interval: 5 %.
    expect(assessQuality({ received: 1000, lost: 10 }, { received: 1095, lost: 15, rttMs: 20 })).toMatchObject({ lossPct: 5, verdict: 'weak' });
  });

  it('calls heavy loss or a long round trip poor', () => {
    expect(assessQuality({ received: 0, lost: 0 }, { received: 80, lost: 20 }).verdict).toBe('poor');
    expect(assessQuality({ received: 0, lost: 0 }, { received: 100, lost: 0, rttMs: 800 }).verdict).toBe('poor');
    expect(assessQuality({ received: 0, lost: 0 }, { received: 100, lost: 0, rttMs: 350 }).verdict).toBe('weak');
  });

  it('treats no traffic and shrinking loss counters as no loss', () => {
    expect(assessQuality({ received: 100, lost: 5 }, { received: 100, lost: 5 }).lossPct).toBe(0);
    expect(assessQuality({ received: 100, lost: 5 }, { received: 200, lost: 3 }).lossPct).toBe(0);
  });
});

describe('avatar initials', () => {
  it('take whole characters: first and last word, an emoji as one character', async () => {
    // @ts-expect-error plain JS module of the pages (no types)
    const { initials } = await import('../../../static/js/icons.js');
    expect(initials('ada lovelace')).toBe('AL');
    expect(initials('  grace  ')).toBe('G');
    expect(initials('🦊 fox')).toBe('🦊F');
    expect(initials('😀')).toBe('😀');
    expect(initials('')).toBe('?');
  });
});
