/**
 * What a member may say about its room once in it, and how the room hears it: one place, so
 * that a member whose connection is on another node (src/cluster) has its messages applied
 * exactly as a local one's.
 */
import type { ClientMessage, Topology } from '../protocol/signaling.js';
import type { Logger } from '../log.js';
import type { Admission } from './access.js';
import type { LeaveReason, Member } from './member.js';

export const IN_ROOM_TYPES = ['offer', 'answer', 'candidate', 'subscribe', 'unsubscribe', 'layer', 'stats', 'media', 'chat', 'leave'] as const;
export type InRoomMessage = Extract<ClientMessage, { type: (typeof IN_ROOM_TYPES)[number] }>;

/** What a transport holds while its client is in a room: the member here, or its proxy to the room's node. */
export interface RoomSession {
  readonly id: string;
  readonly roomId: string;
  /** Its room's topology and what the access policy granted it (WHIP/WHEP check them). */
  readonly topology: Topology;
  readonly admission: Admission;
  readonly log: Logger;
  /** Applies one of the member's in-room messages; throws CallpeerError with the protocol's code. */
  handle(message: InRoomMessage): void;
  /** Takes the member out of its room. Idempotent. */
  close(reason: LeaveReason): void;
}

export function applyMemberMessage(member: Member, m: InRoomMessage): void {
  switch (m.type) {
    case 'offer':
    case 'answer':
    case 'candidate':
      // To the member named in `to` (mesh) or to the server (SFU).
      member.media.signal(m);
      return;
    case 'subscribe':
    case 'unsubscribe':
      member.media.setSubscribed(m.publisher, m.track, m.type === 'subscribe');
      return;
    case 'layer':
      member.media.setLayer(m.track, m.quality);
      return;
    case 'stats':
      member.media.reportStats(m);
      return;
    case 'media': {
      const p = member.participant;
      member.room.update(member, { audio: m.audio ?? p.audio, video: m.video ?? p.video, screen: m.screen ?? p.screen });
      return;
    }
    case 'chat':
      // Everyone, the sender too: the server's line (with its timestamp) is the one all display.
      member.room.broadcast({ type: 'chat', from: member.id, name: member.participant.name, text: m.text, ts: Date.now() });
      return;
    case 'leave':
      member.close('left');
  }
}
