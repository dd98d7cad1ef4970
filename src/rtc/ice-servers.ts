import { CallpeerError } from '../errors.js';
import type { IceServer } from '../protocol/signaling.js';
import { ICE_TRANSPORT_POLICIES, type IceTransportPolicy } from './peer-types.js';

/** RTCIceServer-shaped entries to node-datachannel's URL strings (credentials inline). */
export function toNdcIceServers(server: IceServer): string[] {
  const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
  return urls.map((u) => {
    if (server.username === undefined || !/^turns?:/.test(u)) return u;
    const [scheme, rest] = [u.slice(0, u.indexOf(':')), u.slice(u.indexOf(':') + 1)];
    return `${scheme}:${encodeURIComponent(server.username)}:${encodeURIComponent(server.credential ?? '')}@${rest}`;
  });
}

/** `all` or `relay` from a flag or option; INVALID_CONFIG naming `flag` otherwise. */
export function parseIceTransportPolicy(value: unknown, flag = '--ice-transport-policy'): IceTransportPolicy {
  if (typeof value === 'string' && (ICE_TRANSPORT_POLICIES as readonly string[]).includes(value)) return value as IceTransportPolicy;
  throw new CallpeerError('INVALID_CONFIG', `${flag} must be all or relay (got ${String(value)})`, {
    hint: 'use relay to connect only through a TURN server (the server\'s --turn-url, or --ice-server turn:…)',
  });
}
