import { createHmac } from 'node:crypto';
import type { IceServer } from '../protocol/signaling.js';

/**
 * Short-lived TURN credentials as coturn's `use-auth-secret` (the TURN REST API) checks them:
 * username `<expiry unix seconds>:<id>`, password base64(HMAC-SHA1(secret, username)).
 */
export function turnCredentials(secret: string, ttlSeconds: number, id: string, nowMs = Date.now()): { username: string; credential: string } {
  const username = `${Math.floor(nowMs / 1000) + ttlSeconds}:${id}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/** The RTCIceServer entry for `turnUrl` with fresh credentials for `id`. */
export function turnIceServer(turnUrl: string, secret: string, ttlSeconds: number, id: string, nowMs = Date.now()): IceServer {
  return { urls: turnUrl, ...turnCredentials(secret, ttlSeconds, id, nowMs) };
}
