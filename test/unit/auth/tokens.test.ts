import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TokenAccess } from '../../../src/auth/access.js';
import { mintToken, TokenVerifier } from '../../../src/auth/tokens.js';
import { turnCredentials } from '../../../src/auth/turn.js';
import { handMadeJwt as jwt } from '../../helpers/jwt.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

const handMadeJwt = (claims: Record<string, unknown>, secret = SECRET) => jwt(claims, secret);

describe('TokenVerifier', () => {
  const v = new TokenVerifier({ secret: SECRET });

  it('reads the grant of a valid token, with defaults for what it leaves out', async () => {
    expect(await v.verify(handMadeJwt({ sub: 'ada', exp: now() + 60 }))).toEqual({ identity: 'ada', room: '*', roles: ['participant'], publish: true, subscribe: true });
    expect(await v.verify(handMadeJwt({ sub: 'bob', exp: now() + 60, name: ' Bob ', room: 'r1', roles: ['recorder', 'admin'], publish: false, extra: 1 })))
      .toEqual({ identity: 'bob', name: 'Bob', room: 'r1', roles: ['recorder', 'admin'], publish: false, subscribe: true });
  });

  it.each([
    ['expired', { sub: 'a', exp: now() - 120 }, SECRET, /expired/],
    ['not yet valid', { sub: 'a', exp: now() + 600, nbf: now() + 300 }, SECRET, /not valid yet/],
    ['signed with another secret', { sub: 'a', exp: now() + 60 }, 'another-secret-of-at-least-32-bytes!', /signature/],
    ['without exp', { sub: 'a' }, SECRET, /"exp"/],
    ['without sub', { exp: now() + 60 }, SECRET, /"sub"/],
    ['with an unknown role', { sub: 'a', exp: now() + 60, roles: ['owner'] }, SECRET, /roles/],
    ['with roles that are not an array', { sub: 'a', exp: now() + 60, roles: 'admin' }, SECRET, /roles/],
  ])('refuses a token %s with UNAUTHORIZED saying so', async (_name, claims, secret, message) => {
    const err = await v.verify(handMadeJwt(claims, secret)).catch((e) => e);
    expect(err.code).toBe('UNAUTHORIZED');
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain(SECRET);
  });

  it('allows 30 s of clock skew on exp and nbf', async () => {
    await expect(v.verify(handMadeJwt({ sub: 'a', exp: now() - 20 }))).resolves.toMatchObject({ identity: 'a' });
    await expect(v.verify(handMadeJwt({ sub: 'a', exp: now() + 60, nbf: now() + 20 }))).resolves.toMatchObject({ identity: 'a' });
  });

  it('refuses garbage and an unsigned ("alg": "none") token', async () => {
    await expect(v.verify('not.a.jwt')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const unsigned = `${b64({ alg: 'none' })}.${b64({ sub: 'a', exp: now() + 60 })}.`;
    await expect(v.verify(unsigned)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('verifies ES256 and RS256 tokens with the issuer\'s public key, and refuses HS256 then', async () => {
    for (const [type, alg, opts] of [['ec', 'ES256', { namedCurve: 'P-256' }], ['rsa', 'RS256', { modulusLength: 2048 }]] as const) {
      const { privateKey, publicKey } = generateKeyPairSync(type as 'ec', opts as { namedCurve: string });
      const body = `${b64({ alg, typ: 'JWT' })}.${b64({ sub: 'k', exp: now() + 60 })}`;
      const sig = cryptoSign('sha256', Buffer.from(body), type === 'ec' ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey);
      const pv = new TokenVerifier({ publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() });
      expect(await pv.verify(`${body}.${sig.toString('base64url')}`)).toMatchObject({ identity: 'k' });
      await expect(pv.verify(handMadeJwt({ sub: 'k', exp: now() + 60 }))).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(alg) });
    }
  });

  it('accepts what mintToken makes', async () => {
    const t = await mintToken({ secret: SECRET, identity: 'cli', room: 'r', name: 'CLI', roles: ['bot'], ttlSeconds: 60 });
    expect(await v.verify(t)).toEqual({ identity: 'cli', name: 'CLI', room: 'r', roles: ['bot'], publish: true, subscribe: true });
  });
});

describe('TokenAccess', () => {
  const access = (allowGuests = false) => new TokenAccess({ key: { secret: SECRET }, allowGuests });
  const token = (claims: Record<string, unknown>) => handMadeJwt({ sub: 'ada', exp: now() + 60, ...claims });

  it('admits a token for the room with the role it grants; only admin may open a room', async () => {
    expect(await access().admit({ token: token({ room: 'r', name: 'Ada' }), roomId: 'r', role: 'participant' }))
      .toEqual({ identity: 'ada', guest: false, name: 'Ada', publish: true, subscribe: true, mayCreateRoom: false });
    expect((await access().admit({ token: token({ roles: ['admin'] }), roomId: 'any', role: 'recorder' })).mayCreateRoom).toBe(true);
  });

  it.each([
    ['no token', undefined, 'r', 'participant', /needs a token/],
    ['a token for another room', { room: 'secret-room-7' }, 'r', 'participant', /another room/],
    ['a role the token does not grant', { roles: ['participant'] }, 'r', 'recorder', /role "recorder"/],
  ] as const)('refuses %s', async (_n, claims, roomId, role, message) => {
    const err = await access().admit({ token: claims && token(claims), roomId, role }).catch((e) => e);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', ref: 'join' });
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('secret-room-7'); // never which claim value would have worked
  });

  it('lets guests in as participants only, when allowed', async () => {
    expect(await access(true).admit({ token: undefined, roomId: 'r', role: 'participant' })).toEqual({ guest: true, publish: true, subscribe: true, mayCreateRoom: false });
    await expect(access(true).admit({ token: undefined, roomId: 'r', role: 'recorder' })).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/guests/) });
  });

  it('authorizes the room API for admin tokens only', async () => {
    await expect(access().authorizeAdmin(token({ roles: ['admin'] }))).resolves.toBeUndefined();
    await expect(access().authorizeAdmin(token({ roles: ['admin'], room: 'a' }), 'b')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(access().authorizeAdmin(token({}))).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/admin/) });
    await expect(access().authorizeAdmin(undefined)).rejects.toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/Bearer/) });
  });
});

describe('turnCredentials', () => {
  it('makes coturn REST API credentials: "<expiry>:<id>" and base64 HMAC-SHA1 of it', () => {
    const c = turnCredentials('north', 3600, 'alice', 1_700_000_000_000);
    expect(c.username).toBe('1700003600:alice');
    // printf '1700003600:alice' | openssl dgst -sha1 -hmac north -binary | base64
    expect(c.credential).toBe('wjwSXO2ch1B6VaLTLMy2Avn5O9o=');
    expect(Buffer.from(c.credential, 'base64')).toHaveLength(20);
  });
});
