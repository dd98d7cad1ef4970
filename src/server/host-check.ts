import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

/** The host a request names: `X-Forwarded-Host` behind a trusted proxy, else `Host`. */
export function requestHost(req: Pick<IncomingMessage, 'headers'>, trustProxy: boolean): string | undefined {
  const forwarded = trustProxy ? req.headers['x-forwarded-host'] : undefined;
  const value = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  return value || req.headers.host;
}

/** `name` of `name:port` / `[v6]:port`, lowercased. */
function hostname(host: string): string {
  const h = host.toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'));
  const i = h.lastIndexOf(':');
  return i >= 0 ? h.slice(0, i) : h;
}

/**
 * Whether a request may name `host` (DNS rebinding: a hostile page's own name resolving to
 * this server). IP literals, localhost and no Host at all always may; otherwise the name must
 * be in `allowed` (with or without its port). With no list, a server listening on loopback
 * only answers its loopback names; one listening beyond it answers any name.
 */
export function isHostAllowed(host: string | undefined, allowed: readonly string[], listenHost: string): boolean {
  if (host === undefined || host === '') return true;
  const name = hostname(host);
  if (isIP(name) !== 0 || LOOPBACK_NAMES.has(name)) return true;
  if (allowed.length > 0) return allowed.includes(name) || allowed.includes(host.toLowerCase());
  return !LOOPBACK_NAMES.has(listenHost) && !listenHost.startsWith('127.');
}
