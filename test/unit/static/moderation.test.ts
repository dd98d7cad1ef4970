/**
 * The pages' pure modules for auth and moderation, run in Node: the join token of an
 * invitation link, refusals and removals in plain words, the server mute, the lobby's create form.
 */
import { describe, expect, it } from 'vitest';
import { mintToken } from '../../../src/auth/tokens.js';
// @ts-expect-error plain JS module of the pages (no types)
import { createBody, createRoom, roomApiOpen } from '../../../static/js/create-room.js';
// @ts-expect-error plain JS module of the pages (no types)
import { grantedName, joinRefusal, joinToken, tokenClaims } from '../../../static/js/join-token.js';
// @ts-expect-error plain JS module of the pages (no types)
import { applyServerMute, removedNotice, serverMuteText } from '../../../static/js/moderation.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const loc = (search: string, hash: string) => ({ search, hash });

describe('the join token of a link', () => {
  it('comes from the fragment, else the query, else is empty', () => {
    expect(joinToken(loc('?name=A', '#token=abc.def.ghi'))).toBe('abc.def.ghi');
    expect(joinToken(loc('?token=from-query', '#token=from-hash'))).toBe('from-hash');
    expect(joinToken(loc('?name=A&token=q.q.q', ''))).toBe('q.q.q');
    expect(joinToken(loc('', '#other=1'))).toBe('');
    expect(joinToken(loc('', ''))).toBe('');
  });

  it('claims are read from a real token, name and publish included; junk gives {}', async () => {
    const t = await mintToken({ secret: SECRET, identity: 'ada', room: 'r', name: 'Ada Lovelace', publish: false, ttlSeconds: 60 });
    const c = tokenClaims(t);
    expect(c).toMatchObject({ sub: 'ada', room: 'r', name: 'Ada Lovelace', publish: false });
    expect(grantedName(c)).toBe('Ada Lovelace');
    expect(tokenClaims('not a jwt')).toEqual({});
    expect(tokenClaims('a.!!!.c')).toEqual({});
    expect(tokenClaims(`a.${Buffer.from('[1,2]').toString('base64url')}.c`)).toEqual({});
    expect(grantedName({ name: '  ' })).toBe('');
    expect(grantedName({})).toBe('');
  });

  it('a non-ASCII name survives the base64url decoding', async () => {
    const t = await mintToken({ secret: SECRET, identity: 'z', room: '*', name: 'Zoë Ågren 李', ttlSeconds: 60 });
    expect(grantedName(tokenClaims(t))).toBe('Zoë Ågren 李');
  });
});

describe('refused joins in plain words', () => {
  it('UNAUTHORIZED with a token: an invitation link without a valid token, maybe expired, and the server\'s reason', () => {
    const r = joinRefusal('UNAUTHORIZED', 'the token has expired', true);
    expect(r.text).toMatch(/^This room needs an invitation link: the link you used has no valid token \(it may have expired\)\./);
    expect(r.text).toContain('the token has expired');
  });

  it('UNAUTHORIZED without a token says the link has none', () => {
    expect(joinRefusal('UNAUTHORIZED', 'this server needs a token to join (join.token)', false).text).toMatch(/the link you used has none/);
  });

  it('ROOM_NOT_FOUND: the room does not exist (yet); anything else: the server\'s message', () => {
    expect(joinRefusal('ROOM_NOT_FOUND', 'room "x" does not exist on this server', true).text).toMatch(/^This room does not exist \(yet\)\./);
    expect(joinRefusal('INTERNAL', 'boom', false)).toEqual({ title: 'Could not join', text: 'boom' });
  });
});

describe('moderation', () => {
  it('kicked and room-closed become notices', () => {
    expect(removedNotice({ type: 'kicked', reason: 'spamming' }).text).toBe('You were removed from the call: spamming');
    expect(removedNotice({ type: 'kicked', reason: '' }).text).toBe('You were removed from the call: no reason given');
    expect(removedNotice({ type: 'room-closed', reason: 'deleted' }).text).toBe('This call has ended: the room was closed.');
    expect(removedNotice({ type: 'room-closed', reason: 'node-lost' }).text).toMatch(/^This call has ended: /);
  });

  it('says what a moderator turned off', () => {
    expect(serverMuteText({ audio: false })).toBe('A moderator muted your microphone');
    expect(serverMuteText({ audio: false, video: false })).toBe('A moderator muted your microphone and turned off your camera');
    expect(serverMuteText({ audio: false, video: false, screen: false })).toBe('A moderator muted your microphone, turned off your camera and stopped your screen sharing');
    expect(serverMuteText({})).toBe('');
  });

  it('turns off through the same calls as the buttons, and only what is on', async () => {
    const calls: string[] = [];
    const local = {
      state: { audio: true, video: false, screen: true },
      toggleMic() { calls.push('mic'); this.state.audio = !this.state.audio; },
      async toggleCamera() { calls.push('camera'); return ''; },
      async stopScreen() { calls.push('screen'); this.state.screen = false; },
    };
    await applyServerMute(local, { audio: false, video: false, screen: false });
    expect(calls).toEqual(['mic', 'screen']);
    expect(local.state).toEqual({ audio: false, video: false, screen: false });
    await applyServerMute(local, { audio: false });
    expect(calls).toEqual(['mic', 'screen']); // already muted: not toggled back on
  });
});

describe('the lobby\'s create form', () => {
  const answer = (status: number, body?: unknown) => async () => new Response(body === undefined ? null : JSON.stringify(body), { status });

  it('builds the API body; an empty capacity is the server\'s default; a bad name is refused before any request', () => {
    expect(createBody({ id: 'team', topology: 'sfu', capacity: '3' })).toEqual({ body: { id: 'team', topology: 'sfu', maxMembers: 3 } });
    expect(createBody({ id: 'team', topology: 'mesh', capacity: ' ' })).toEqual({ body: { id: 'team', topology: 'mesh' } });
    expect(createBody({ id: 'a b', topology: 'mesh', capacity: '' }).problem).toMatch(/no spaces/);
  });

  it('shows itself only on 200 from GET /api/rooms', async () => {
    expect(await roomApiOpen(answer(200, { rooms: [] }))).toBe(true);
    expect(await roomApiOpen(answer(401, { error: { code: 'UNAUTHORIZED', message: 'x' } }))).toBe(false);
    expect(await roomApiOpen(async () => { throw new TypeError('offline'); })).toBe(false);
  });

  it('passes on the server\'s words for 409 and 400', async () => {
    expect(await createRoom({ id: 'x' }, answer(201, { id: 'x', topology: 'mesh' }))).toEqual({ room: { id: 'x', topology: 'mesh' } });
    expect((await createRoom({ id: 'x' }, answer(409, { error: { code: 'ROOM_EXISTS', message: 'a room with that id exists already' } }))).message)
      .toBe('Not created: a room with that id exists already. Pick another name, or join that room with the form above.');
    expect((await createRoom({ id: 'x' }, answer(400, { error: { code: 'INVALID_MESSAGE', message: '"maxMembers" must be a whole number from 1 to 1000' } }))).message)
      .toBe('Not created: "maxMembers" must be a whole number from 1 to 1000.');
    expect((await createRoom({ id: 'x' }, answer(500))).message).toBe('Not created: the server answered 500. Try again in a moment.');
  });
});
