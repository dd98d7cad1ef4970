/**
 * Join tokens (docs/PROTOCOL.md, "Auth, roles and the room API"): JWTs signed HS256 with a
 * shared secret, or ES256/RS256 with the issuer's private key and verified with its public
 * key. Verified with jose; refusals say what is wrong, never which secret or claim would do.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { CallpeerError } from '../errors.js';

export const TOKEN_ROLES = ['participant', 'bot', 'recorder', 'admin'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

/** What a valid token grants. */
export interface Grant {
  /** `sub`: a stable identity. */
  identity: string;
  /** `name`: wins over `join.name`. */
  name?: string;
  /** `room`: a room id, or `*` for any. */
  room: string;
  roles: TokenRole[];
  publish: boolean;
  subscribe: boolean;
}

/** Clock skew allowed on `exp` and `nbf`, seconds. */
const CLOCK_TOLERANCE_S = 30;

function refuse(message: string, cause?: unknown): never {
  throw new CallpeerError('UNAUTHORIZED', message, { ref: 'join', ...(cause !== undefined && { cause }) });
}

export type VerifierKey = { secret: string } | { publicKeyPem: string };

/** Checks tokens against one key. */
export class TokenVerifier {
  private readonly key: Uint8Array | KeyObject;
  private readonly algorithms: string[];

  constructor(key: VerifierKey) {
    if ('secret' in key) {
      this.key = new TextEncoder().encode(key.secret);
      this.algorithms = ['HS256'];
    } else {
      const pub = createPublicKey(key.publicKeyPem);
      this.key = pub;
      this.algorithms = pub.asymmetricKeyType === 'ec' ? ['ES256'] : ['RS256'];
    }
  }

  /** The grant of a valid token; rejects UNAUTHORIZED saying why it is not one. */
  async verify(token: string, now = new Date()): Promise<Grant> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: this.algorithms, clockTolerance: CLOCK_TOLERANCE_S, requiredClaims: ['sub', 'exp'], currentDate: now,
      }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) refuse('the token has expired', err);
      if (err instanceof errors.JWTClaimValidationFailed) {
        if (err.claim === 'nbf' || err.claim === 'iat') refuse('the token is not valid yet', err);
        if (err.reason === 'missing') refuse(`the token has no "${err.claim}" claim`, err);
        refuse(`the token's "${err.claim}" claim is not valid`, err);
      }
      if (err instanceof errors.JWSSignatureVerificationFailed) refuse('the token\'s signature does not verify', err);
      if (err instanceof errors.JOSEAlgNotAllowed) refuse(`the token is not signed with ${this.algorithms[0]}, the algorithm this server accepts`, err);
      refuse('the token is not a well-formed JWT', err);
    }
    return grantOf(payload);
  }
}

function grantOf(p: JWTPayload): Grant {
  if (typeof p.sub !== 'string' || p.sub.length === 0 || p.sub.length > 256) refuse('the token\'s "sub" must be a non-empty string');
  const roles = p.roles ?? ['participant'];
  if (!Array.isArray(roles) || roles.length === 0 || !roles.every((r) => (TOKEN_ROLES as readonly unknown[]).includes(r))) {
    refuse(`the token's "roles" must be a non-empty array of ${TOKEN_ROLES.join(', ')}`);
  }
  const room = p.room ?? '*';
  if (typeof room !== 'string') refuse('the token\'s "room" must be a room id or "*"');
  for (const k of ['publish', 'subscribe'] as const) if (p[k] !== undefined && typeof p[k] !== 'boolean') refuse(`the token's "${k}" must be a boolean`);
  if (p.name !== undefined && (typeof p.name !== 'string' || p.name.length > 64)) refuse('the token\'s "name" must be a string of at most 64 characters');
  return {
    identity: p.sub,
    ...(typeof p.name === 'string' && p.name.trim() !== '' && { name: p.name.trim() }),
    room,
    roles: roles as TokenRole[],
    publish: p.publish !== false,
    subscribe: p.subscribe !== false,
  };
}

export interface MintOptions {
  secret: string;
  identity: string;
  /** A room id or `*`. */
  room: string;
  name?: string;
  roles?: TokenRole[];
  publish?: boolean;
  subscribe?: boolean;
  /** Lifetime, seconds. */
  ttlSeconds: number;
  now?: Date;
}

/** An HS256 token for `callpeer token` and scripts. */
export async function mintToken(o: MintOptions): Promise<string> {
  const iat = Math.floor((o.now ?? new Date()).getTime() / 1000);
  const claims: JWTPayload = { room: o.room, roles: o.roles ?? ['participant'] };
  if (o.name !== undefined) claims.name = o.name;
  if (o.publish === false) claims.publish = false;
  if (o.subscribe === false) claims.subscribe = false;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(o.identity)
    .setIssuedAt(iat)
    .setExpirationTime(iat + o.ttlSeconds)
    .sign(new TextEncoder().encode(o.secret));
}
