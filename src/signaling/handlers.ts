import { CallpeerError } from '../errors.js';
import type {
  AnswerMessage, CandidateMessage, ChatMessage, ClientMessage, ClientMessageType, JoinMessage, LayerMessage, MediaMessage,
  OfferMessage, PingMessage, SubscribeMessage,
} from '../protocol/signaling.js';
import type { SfuRoom } from '../sfu/sfu-room.js';
import type { Member } from '../rooms/room.js';
import type { SignalingSession } from './session.js';

type Handler<M> = (s: SignalingSession, m: M) => void;
type HandlerMap = { [T in ClientMessageType]: Handler<Extract<ClientMessage, { type: T }>> };

function requireRoom(s: SignalingSession, ref: string) {
  if (!s.room) throw new CallpeerError('NOT_IN_ROOM', `join a room before sending "${ref}"`, { ref });
  return s.room;
}

/** The participant a mesh message is addressed to. */
function target(s: SignalingSession, m: OfferMessage | AnswerMessage | CandidateMessage): Member {
  const room = requireRoom(s, m.type);
  if (m.to === undefined) {
    throw new CallpeerError('SFU_NOT_ENABLED', `room "${room.id}" is a mesh room: "${m.type}" needs "to" (a participant id)`, { ref: m.type });
  }
  if (m.to === s.id) throw new CallpeerError('INVALID_MESSAGE', `"${m.type}" cannot be addressed to yourself`, { ref: m.type });
  const peer = room.get(m.to);
  if (!peer) throw new CallpeerError('PEER_NOT_FOUND', `no participant "${m.to}" in room "${room.id}"`, { ref: m.type });
  return peer;
}

function join(s: SignalingSession, m: JoinMessage): void {
  if (s.room) throw new CallpeerError('ALREADY_JOINED', `already in room "${s.room.id}"; send "leave" first`, { ref: 'join' });
  const room = s.ctx.rooms.getOrCreate(m.room);
  if (room.isFull) {
    throw new CallpeerError('ROOM_FULL', `room "${room.id}" is full (${room.maxMembers} members)`, { ref: 'join' });
  }
  s.participant = {
    id: s.id,
    name: m.name?.trim() || `Guest ${s.id.slice(0, 4)}`,
    role: m.role ?? 'participant',
    audio: m.audio ?? false,
    video: m.video ?? false,
    screen: false,
    metadata: m.metadata ?? {},
  };
  const others = room.participants();
  room.add(s);
  s.room = room;
  s.disarmJoinTimer();
  s.ctx.rooms.joined();
  s.send({ type: 'joined', id: s.id, room: room.info(), participants: others, iceServers: s.ctx.config.iceServers });
  room.broadcast({ type: 'peer-joined', participant: s.participant }, s.id);
  room.log.info({ peer: s.id, role: s.participant.role, members: room.size }, 'participant joined');
}

/** The SFU side of the sender's room, or undefined in a mesh room. */
function sfuRoom(s: SignalingSession, m: ClientMessage): SfuRoom | undefined {
  const room = requireRoom(s, m.type);
  if (room.topology !== 'sfu') return undefined;
  if ('to' in m && m.to !== undefined) {
    throw new CallpeerError('INVALID_MESSAGE', `room "${room.id}" is an SFU room: send "${m.type}" without "to" (the server is the other side)`, { ref: m.type });
  }
  return s.ctx.sfu.room(room.id, room.log);
}

function relaySdp(s: SignalingSession, m: OfferMessage | AnswerMessage): void {
  const sfu = sfuRoom(s, m);
  if (sfu) sfu.description(s, m.type, m.sdp);
  else target(s, m).send({ type: m.type, from: s.id, sdp: m.sdp });
}

function candidate(s: SignalingSession, m: CandidateMessage): void {
  const sfu = sfuRoom(s, m);
  if (sfu) sfu.candidate(s, m.candidate, m.mid);
  else target(s, m).send({ type: 'candidate', from: s.id, candidate: m.candidate, mid: m.mid });
}

function subscription(s: SignalingSession, m: SubscribeMessage): void {
  const sfu = sfuRoom(s, m);
  if (!sfu) sfuOnly(s, m);
  else sfu.setSubscribed(s, m.publisher, m.track, m.type === 'subscribe');
}

function layer(s: SignalingSession, m: LayerMessage): void {
  if (!sfuRoom(s, m)) sfuOnly(s, m);
  throw new CallpeerError('INVALID_MESSAGE', 'this SFU forwards audio only: there are no video layers to choose', { ref: 'layer' });
}

function media(s: SignalingSession, m: MediaMessage): void {
  const room = requireRoom(s, 'media');
  const p = s.participant;
  s.participant = { ...p, audio: m.audio ?? p.audio, video: m.video ?? p.video, screen: m.screen ?? p.screen };
  room.broadcast({ type: 'peer-updated', participant: s.participant }, s.id);
}

function chat(s: SignalingSession, m: ChatMessage): void {
  const room = requireRoom(s, 'chat');
  // Everyone, the sender too: the server's line (with its timestamp) is the one all display.
  room.broadcast({ type: 'chat', from: s.id, name: s.participant.name, text: m.text, ts: Date.now() });
}

function leave(s: SignalingSession): void {
  requireRoom(s, 'leave');
  s.leaveRoom();
}

function ping(s: SignalingSession, m: PingMessage): void {
  s.send(m.id === undefined ? { type: 'pong' } : { type: 'pong', id: m.id });
}

function sfuOnly(s: SignalingSession, m: ClientMessage): never {
  const room = requireRoom(s, m.type);
  throw new CallpeerError('SFU_NOT_ENABLED', `"${m.type}" needs an SFU room; room "${room.id}" is mesh`, { ref: m.type });
}

/** One handler per client message type; the type system makes sure none is missing. */
export const handlers: HandlerMap = {
  join,
  offer: relaySdp,
  answer: relaySdp,
  candidate,
  media,
  chat,
  leave,
  ping,
  subscribe: subscription,
  unsubscribe: subscription,
  layer,
};
