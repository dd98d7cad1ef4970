/** Shared by the mesh gateway tests: a Node mesh member that plays a tone on every link and keeps what it hears. */
import { joinRoom } from '../../src/client/room-agent.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { isRtcp } from '../../src/media/rtp.js';
import { OpusSender } from '../../src/rtc/opus-sender.js';
import { PEER } from './sfu-helpers.js';

/** A Node member of a mesh room (joinRoom picks MeshAgent) that plays `hz` and keeps what it hears, by participant id. */
export async function meshMember(wsUrl: string, room: string, name: string, hz: number) {
  const heard = new Map<string, Buffer[]>();
  const senders: OpusSender[] = [];
  const sending = new Set<unknown>();
  const { agent } = await joinRoom({ wsUrl, room, name, peer: PEER }, (a) => {
    a.on('track-added', (t) => {
      if (t.kind !== 'audio') return;
      const packets: Buffer[] = [];
      heard.set(t.participant.id, packets);
      t.track.onRtp = (p) => { if (!isRtcp(p)) packets.push(Buffer.from(p)); };
    });
    a.on('link-negotiated', (link) => {
      const out = link.peer.tracks().find((t) => t.kind === 'audio' && (t.direction === 'sendrecv' || t.direction === 'sendonly'));
      if (!out || sending.has(out)) return;
      sending.add(out);
      const sender = new OpusSender(out);
      sender.play(new ToneSource(hz));
      senders.push(sender);
    });
  });
  return { agent, heard, stop: async () => { for (const s of senders) s.close(); await agent.close(); } };
}
