/** The access policy of a server with auth on: tokens, roles, guests (docs/PROTOCOL.md). */
import { CallpeerError } from '../errors.js';
import type { AccessPolicy, AccessRequest, Admission } from '../rooms/access.js';
import { TokenVerifier, type Grant, type VerifierKey } from './tokens.js';

export interface TokenAccessOptions {
  key: VerifierKey;
  /** A join with no token is let in as a guest participant. */
  allowGuests: boolean;
}

function refuse(message: string): never {
  throw new CallpeerError('UNAUTHORIZED', message, { ref: 'join' });
}

export class TokenAccess implements AccessPolicy {
  readonly enabled = true;
  private readonly verifier: TokenVerifier;

  constructor(private readonly options: TokenAccessOptions) {
    this.verifier = new TokenVerifier(options.key);
  }

  async admit({ token, roomId, role }: AccessRequest): Promise<Admission> {
    if (token === undefined || token === '') {
      if (!this.options.allowGuests) refuse('this server needs a token to join (join.token)');
      if (role !== 'participant') refuse(`guests join as participants only, not as ${role}: a token must grant that role`);
      return { guest: true, publish: true, subscribe: true, mayCreateRoom: false };
    }
    const grant = await this.verifier.verify(token);
    if (grant.room !== '*' && grant.room !== roomId) refuse('the token is for another room');
    if (!grants(grant, role)) refuse(`the token does not grant the role "${role}"`);
    return {
      identity: grant.identity,
      guest: false,
      ...(grant.name !== undefined && { name: grant.name }),
      publish: grant.publish,
      subscribe: grant.subscribe,
      mayCreateRoom: grant.roles.includes('admin'),
    };
  }

  /** For services outside rooms (PCM pairing): any valid token, or none when guests are allowed. */
  async authorizeClient(token: string | undefined): Promise<void> {
    if (token === undefined || token === '') {
      if (!this.options.allowGuests) refuse('this server needs a token: add token=<jwt> to the URL');
      return;
    }
    await this.verifier.verify(token);
  }

  /** For the room API: resolves if `token` is valid and grants `admin` (for `roomId`, if given). */
  async authorizeAdmin(token: string | undefined, roomId?: string): Promise<void> {
    if (token === undefined) refuse('the room API needs "Authorization: Bearer <token>" with the admin role');
    const grant = await this.verifier.verify(token);
    if (!grant.roles.includes('admin')) refuse('the token does not grant the role "admin"');
    if (roomId !== undefined && grant.room !== '*' && grant.room !== roomId) refuse('the token is for another room');
  }
}

/** An admin may join in any role; others in the roles their token lists. */
function grants(grant: Grant, role: string): boolean {
  return grant.roles.includes('admin') || (grant.roles as string[]).includes(role);
}
