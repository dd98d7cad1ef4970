import { CallpeerError } from '../errors.js';
import type {
  ChatMessage, ClientMessage, ClientMessageType, JoinMessage, LayerMessage, MediaMessage, PingMessage, StatsMessage, SubscribeMessage,
} from '../protocol/signaling.js';
import type { SignalMessage } from '../rooms/media.js';
import type { Member } from '../rooms/member.js';
import type { SignalingSession } from './session.js';

/** A handler may finish later (a join waits for its room): the session catches its rejection. */
type Handler<M> = (s: SignalingSession, m: M) => void | Promise<void>;
type HandlerMap = { [T in ClientMessageType]: Handler<Extract<ClientMessage, { type: T }>> };

function requireMember(s: SignalingSession, ref: string): Member {
  if (!s.member) throw new CallpeerError('NOT_IN_ROOM', `join a room before sending "${ref}"`, { ref });
  return s.member;
}

async function join(s: SignalingSession, m: JoinMessage): Promise<void> {
  if (s.member || s.joining) throw new CallpeerError('ALREADY_JOINED', `already in room "${s.member?.room.id ?? m.room}"; send "leave" first`, { ref: 'join' });
  s.joining = true;
  try {
    s.joined(await s.ctx.rooms.join(m.room, s, { id: s.id, name: m.name, role: m.role, audio: m.audio, video: m.video, metadata: m.metadata, autoSubscribe: m.autoSubscribe }, m.token));
  } finally {
    s.joining = false;
  }
}

/** `offer` / `answer` / `candidate`: to the member named in `to` (mesh) or to the server (SFU). */
function signal(s: SignalingSession, m: SignalMessage): void {
  requireMember(s, m.type).media.signal(m);
}

function subscription(s: SignalingSession, m: SubscribeMessage): void {
  requireMember(s, m.type).media.setSubscribed(m.publisher, m.track, m.type === 'subscribe');
}

function layer(s: SignalingSession, m: LayerMessage): void {
  requireMember(s, 'layer').media.setLayer(m.track, m.quality);
}

function stats(s: SignalingSession, m: StatsMessage): void {
  requireMember(s, 'stats').media.reportStats(m);
}

function media(s: SignalingSession, m: MediaMessage): void {
  const member = requireMember(s, 'media');
  const p = member.participant;
  member.room.update(member, { audio: m.audio ?? p.audio, video: m.video ?? p.video, screen: m.screen ?? p.screen });
}

function chat(s: SignalingSession, m: ChatMessage): void {
  const member = requireMember(s, 'chat');
  // Everyone, the sender too: the server's line (with its timestamp) is the one all display.
  member.room.broadcast({ type: 'chat', from: member.id, name: member.participant.name, text: m.text, ts: Date.now() });
}

function leave(s: SignalingSession): void {
  requireMember(s, 'leave').close('left');
}

function ping(s: SignalingSession, m: PingMessage): void {
  s.send(m.id === undefined ? { type: 'pong' } : { type: 'pong', id: m.id });
}

/** One handler per client message type; the type system makes sure none is missing. */
export const handlers: HandlerMap = {
  join,
  offer: signal,
  answer: signal,
  candidate: signal,
  media,
  chat,
  leave,
  ping,
  subscribe: subscription,
  unsubscribe: subscription,
  layer,
  stats,
};
