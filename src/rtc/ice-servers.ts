import type { IceServer } from '../protocol/signaling.js';

/** RTCIceServer-shaped entries to node-datachannel's URL strings (credentials inline). */
export function toNdcIceServers(server: IceServer): string[] {
  const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
  return urls.map((u) => {
    if (server.username === undefined || !/^turns?:/.test(u)) return u;
    const [scheme, rest] = [u.slice(0, u.indexOf(':')), u.slice(u.indexOf(':') + 1)];
    return `${scheme}:${encodeURIComponent(server.username)}:${encodeURIComponent(server.credential ?? '')}@${rest}`;
  });
}
