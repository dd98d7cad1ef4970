import type { IncomingMessage } from 'node:http';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether a WebSocket upgrade's Origin may connect: no Origin (non-browser clients), the
 * server's own origin (as the Host header names it), localhost on any port, or one of `allowed`.
 * Browsers always send Origin, so this stops other sites from driving a visitor's browser.
 */
export function isOriginAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (LOCAL_HOSTS.has(url.hostname)) return true;
  if (req.headers.host !== undefined && url.host === req.headers.host) return true;
  return allowed.includes(url.origin);
}
