import { CallpeerError } from '../errors.js';
import type { ClientMessage, ClientMessageType, JoinMessage, PingMessage } from '../protocol/signaling.js';
import type { InRoomMessage, RoomSession } from '../rooms/member-messages.js';
import type { SignalingSession } from './session.js';

/** A handler may finish later (a join waits for its room): the session catches its rejection. */
type Handler<M> = (s: SignalingSession, m: M) => void | Promise<void>;
type HandlerMap = { [T in ClientMessageType]: Handler<Extract<ClientMessage, { type: T }>> };

function requireMember(s: SignalingSession, ref: string): RoomSession {
  if (!s.member) throw new CallpeerError('NOT_IN_ROOM', `join a room before sending "${ref}"`, { ref });
  return s.member;
}

async function join(s: SignalingSession, m: JoinMessage): Promise<void> {
  if (s.member || s.joining) throw new CallpeerError('ALREADY_JOINED', `already in room "${s.member?.roomId ?? m.room}"; send "leave" first`, { ref: 'join' });
  s.joining = true;
  try {
    s.joined(await s.ctx.join(m.room, s, { id: s.id, name: m.name, role: m.role, audio: m.audio, video: m.video, metadata: m.metadata, autoSubscribe: m.autoSubscribe }, m.token));
  } finally {
    s.joining = false;
  }
}

/** An in-room message: to the member's room, here or on the room's node. */
function inRoom(s: SignalingSession, m: InRoomMessage): void {
  requireMember(s, m.type).handle(m);
}

function ping(s: SignalingSession, m: PingMessage): void {
  s.send(m.id === undefined ? { type: 'pong' } : { type: 'pong', id: m.id });
}

/** One handler per client message type; the type system makes sure none is missing. */
export const handlers: HandlerMap = {
  join,
  offer: inRoom,
  answer: inRoom,
  candidate: inRoom,
  media: inRoom,
  chat: inRoom,
  leave: inRoom,
  ping,
  subscribe: inRoom,
  unsubscribe: inRoom,
  layer: inRoom,
  stats: inRoom,
};
