import type { Command } from 'commander';
import { mintToken, TOKEN_ROLES, type TokenRole } from '../auth/tokens.js';
import { CallpeerError } from '../errors.js';
import { isValidRoomId } from '../protocol/signaling.js';
import { collect } from './options.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `15m`, `1h`, `7d` to seconds; INVALID_CONFIG otherwise. */
export function parseTtl(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[m[2] || 's']! : NaN;
  if (!(seconds >= 1 && seconds <= 366 * 86_400)) {
    throw new CallpeerError('INVALID_CONFIG', `--ttl must be a duration from 1s to 366d such as 90s, 15m, 1h or 7d (got ${text})`, { hint: 'use --ttl 1h' });
  }
  return seconds;
}

interface TokenCliOptions { secret?: string; room: string; identity: string; name?: string; role?: string[]; ttl: string; publish: boolean; subscribe: boolean }

export function registerToken(program: Command): void {
  program
    .command('token')
    .description('print a join token (HS256 JWT) for a server started with --auth-secret')
    .requiredOption('--room <id>', 'the room it is for, or "*" for any room')
    .requiredOption('--identity <id>', 'a stable identity (the token\'s "sub")')
    .option('--secret <secret>', 'the server\'s --auth-secret (env CALLPEER_AUTH_SECRET)')
    .option('--name <name>', 'display name (wins over the name a client asks for)')
    .option('--role <role>', `role granted, repeatable: ${TOKEN_ROLES.join(', ')} (default participant)`, collect)
    .option('--ttl <duration>', 'lifetime: 90s, 15m, 1h, 7d', '1h')
    .option('--no-publish', 'the member may not send media')
    .option('--no-subscribe', 'the member may not receive media')
    .addHelpText('after', '\nExample: callpeer token --secret "$SECRET" --room standup --identity ada --name "Ada" --role recorder --ttl 2h')
    .action(async (opts: TokenCliOptions) => {
      const secret = opts.secret ?? (process.env.CALLPEER_AUTH_SECRET || undefined);
      if (secret === undefined || Buffer.byteLength(secret) < 32) {
        throw new CallpeerError('INVALID_CONFIG', secret === undefined ? 'no secret to sign with' : '--secret must be at least 32 bytes, as the server\'s --auth-secret', { hint: 'pass the server\'s --auth-secret as --secret, or set CALLPEER_AUTH_SECRET' });
      }
      if (opts.room !== '*' && !isValidRoomId(opts.room)) throw new CallpeerError('INVALID_CONFIG', `--room must be a room id (letters, digits, "-" and "_") or "*" (got ${opts.room})`, { hint: 'use --room standup' });
      const roles = opts.role ?? ['participant'];
      const unknown = roles.filter((r) => !(TOKEN_ROLES as readonly string[]).includes(r));
      if (unknown.length > 0) throw new CallpeerError('INVALID_CONFIG', `unknown --role ${unknown.join(', ')}`, { hint: `use one of ${TOKEN_ROLES.join(', ')}` });
      const token = await mintToken({
        secret, identity: opts.identity, room: opts.room, roles: roles as TokenRole[], ttlSeconds: parseTtl(opts.ttl),
        ...(opts.name !== undefined && { name: opts.name }), publish: opts.publish, subscribe: opts.subscribe,
      });
      process.stdout.write(`${token}\n`);
    });
}
