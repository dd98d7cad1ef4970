import { CallpeerError } from '../errors.js';
import { isValidRoomId } from '../protocol/signaling.js';

export interface RoomTarget {
  /** The signaling endpoint, ws(s)://host[:port]/ws */
  wsUrl: string;
  room: string;
}

/**
 * Turns what a user pastes into a signaling URL and a room: a call link
 * (`https://host/r/NAME`, `http://…`) or a WebSocket URL (`ws://host:port[/ws]`) plus `room`.
 */
export function parseRoomUrl(link: string, room?: string): RoomTarget {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new CallpeerError('INVALID_CONFIG', `"${link}" is not a URL`, { hint: 'give a call link like https://host:8080/r/my-room' });
  }
  const fromPath = /^\/r\/([^/]+)\/?$/.exec(url.pathname)?.[1];
  const name = room ?? (fromPath === undefined ? undefined : decodeURIComponent(fromPath));
  if (name === undefined) {
    throw new CallpeerError('INVALID_CONFIG', `"${link}" does not name a room`, { hint: 'use a call link (https://host/r/NAME) or add --room NAME' });
  }
  if (!isValidRoomId(name)) {
    throw new CallpeerError('INVALID_CONFIG', `"${name}" is not a valid room name`, { hint: 'room names use letters, digits, "-" and "_" (1-64 characters)' });
  }
  let protocol: string;
  switch (url.protocol) {
    case 'http:': case 'ws:': protocol = 'ws:'; break;
    case 'https:': case 'wss:': protocol = 'wss:'; break;
    default:
      throw new CallpeerError('INVALID_CONFIG', `unsupported scheme "${url.protocol}" in "${link}"`, { hint: 'use http(s):// or ws(s)://' });
  }
  return { wsUrl: `${protocol}//${url.host}/ws`, room: name };
}
