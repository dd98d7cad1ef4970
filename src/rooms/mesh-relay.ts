/**
 * The media side of a mesh room: members connect to each other, so the server only relays
 * their `offer` / `answer` / `candidate` to the member named in `to`.
 */
import { CallpeerError } from '../errors.js';
import type { Participant } from '../protocol/signaling.js';
import { systemClock, type Clock } from '../time/clock.js';
import type { MeshGatewayPort, MemberMedia, RoomMedia, SignalMessage } from './media.js';
import type { Member } from './member.js';
import { MeshStatsBook } from './mesh-quality.js';
import type { QualityReading } from './quality-reporter.js';

export class MeshRelay implements RoomMedia {
  private gateway: MeshGatewayPort | undefined;
  private readonly stats: MeshStatsBook;

  /** `gateway` makes the room's PCM gateway when the first gateway member joins (none: they are refused). */
  constructor(
    private readonly room: { readonly id: string; get(id: string): Member | undefined; participants(): Participant[] },
    private readonly makeGateway?: () => MeshGatewayPort,
    clock: Clock = systemClock,
  ) {
    this.stats = new MeshStatsBook(clock);
  }

  measureQuality(): QualityReading[] {
    return this.stats.readings(this.room.participants());
  }

  join(member: Member): MemberMedia {
    const room = this.room;
    if (member.leg) {
      if (!this.makeGateway) throw new CallpeerError('SFU_NOT_ENABLED', `this server takes PCM and phone clients in SFU rooms only; room "${room.id}" is mesh`, { ref: 'join' });
      this.gateway ??= this.makeGateway();
      this.gateway.joinLeg(member);
    }
    const gateway = (): MeshGatewayPort | undefined => this.gateway;
    const stats = this.stats;
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
        // A gateway member's links are the server's: it answers for it.
        if (peer.leg) { gateway()?.signal(member, peer, m); return; }
        if (m.type === 'candidate') peer.send({ type: 'candidate', from: member.id, candidate: m.candidate, mid: m.mid });
        else peer.send({ type: m.type, from: member.id, sdp: m.sdp });
      },
      setSubscribed: (_publisher, _track, wanted) => sfuOnly(wanted ? 'subscribe' : 'unsubscribe'),
      setLayer: () => sfuOnly('layer'),
      reportStats(m) {
        if (m.peer === member.id) throw new CallpeerError('INVALID_MESSAGE', 'stats.peer is you: report what you receive from another participant', { ref: 'stats' });
        if (!room.get(m.peer)) throw new CallpeerError('PEER_NOT_FOUND', `stats about "${m.peer.slice(0, 64)}", who is not in room "${room.id}"`, { ref: 'stats' });
        stats.report(member.id, m);
      },
      // Media flows peer to peer: only the member's own page can stop it (it is told).
      setMuted: () => {},
      updated: () => {},
      close: () => {
        stats.forget(member.id);
        gateway()?.left(member.id);
      },
    };
  }

  close(): void {
    this.gateway?.close();
    this.gateway = undefined;
  }
}
