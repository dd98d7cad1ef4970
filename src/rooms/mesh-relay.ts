/**
 * The media side of a mesh room: members connect to each other, so the server only relays
 * their `offer` / `answer` / `candidate` to the member named in `to`.
 */
import { CallpeerError } from '../errors.js';
import type { MemberMedia, RoomMedia, SignalMessage } from './media.js';
import type { Member } from './member.js';

export class MeshRelay implements RoomMedia {
  constructor(private readonly room: { readonly id: string; get(id: string): Member | undefined }) {}

  join(member: Member): MemberMedia {
    const room = this.room;
    // The mesh gateway (a server-side member with a link to each browser) is not built yet.
    if (member.leg) throw new CallpeerError('SFU_NOT_ENABLED', `PCM and phone clients join SFU rooms; room "${room.id}" is mesh`, { ref: 'join' });
    const sfuOnly = (type: string): never => {
      throw new CallpeerError('SFU_NOT_ENABLED', `"${type}" needs an SFU room; room "${room.id}" is mesh`, { ref: type });
    };
    return {
      signal(m: SignalMessage): void {
        if (m.to === undefined) {
          throw new CallpeerError('SFU_NOT_ENABLED', `room "${room.id}" is a mesh room: "${m.type}" needs "to" (a participant id)`, { ref: m.type });
        }
        if (m.to === member.id) throw new CallpeerError('INVALID_MESSAGE', `"${m.type}" cannot be addressed to yourself`, { ref: m.type });
        const peer = room.get(m.to);
        if (!peer) throw new CallpeerError('PEER_NOT_FOUND', `no participant "${m.to}" in room "${room.id}"`, { ref: m.type });
        if (m.type === 'candidate') peer.send({ type: 'candidate', from: member.id, candidate: m.candidate, mid: m.mid });
        else peer.send({ type: m.type, from: member.id, sdp: m.sdp });
      },
      setSubscribed: (_publisher, _track, wanted) => sfuOnly(wanted ? 'subscribe' : 'unsubscribe'),
      setLayer: () => sfuOnly('layer'),
      // Media flows peer to peer: only the member's own page can stop it (it is told).
      setMuted: () => {},
      updated: () => {},
      close: () => {},
    };
  }

  close(): void {}
}
