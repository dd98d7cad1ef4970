import type { IncomingMessage } from 'node:http';
import { requestHost } from './host-check.js';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether a WebSocket upgrade's Origin may connect: no Origin (non-browser clients), the
 * server's own origin (as the Host header names it), localhost on any port, or one of `allowed`.
 * Browsers always send Origin, so this stops other sites from driving a visitor's browser.
 */
export function isOriginAllowed(req: IncomingMessage, allowed: readonly string[], trustProxy = false): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (LOCAL_HOSTS.has(url.hostname)) return true;
  // Behind a trusted reverse proxy the page's origin is the proxy's public host.
  const host = requestHost(req, trustProxy);
  if (host !== undefined && url.host === host) return true;
  return allowed.includes(url.origin);
}
