import { CallpeerError } from '../errors.js';
import type {
  AnswerMessage, CandidateMessage, ChatMessage, ClientMessage, ClientMessageType, JoinMessage, MediaMessage,
  OfferMessage, PingMessage,
} from '../protocol/signaling.js';
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

function relaySdp(s: SignalingSession, m: OfferMessage | AnswerMessage): void {
  target(s, m).send({ type: m.type, from: s.id, sdp: m.sdp });
}

function candidate(s: SignalingSession, m: CandidateMessage): void {
  target(s, m).send({ type: 'candidate', from: s.id, candidate: m.candidate, mid: m.mid });
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

function sfuOnly(s: SignalingSession, m: ClientMessage): void {
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
  subscribe: sfuOnly,
  unsubscribe: sfuOnly,
  layer: sfuOnly,
};
