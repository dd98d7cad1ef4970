/**
 * The far end for support/bare-video.ts: the bare video forwarding loop sfu-forward.bench.ts
 * compares callpeer's SFU with. Each client publishes one VP8 section carrying three simulcast
 * SSRCs and receives three; every packet of a client's top layer goes, SSRC rewritten in
 * place, to the three others of its room, and nothing more: no parsing, no layer selection, no
 * rewriting state, no cache. The other layers and the clients' sender reports are received and
 * dropped.
 */
import { PeerConnection, Video, type Track } from 'node-datachannel';
import { BARE_VIDEO_ROOM, bareVideoSsrc, downSsrc } from './bare-video-ssrcs.js';

type Msg = { t: 'offer'; id: number; sdp: string } | { t: 'cand'; id: number; c: string; mid: string } | { t: 'cpu' };

// Every Track is kept referenced: a collected wrapper stops delivering.
const clients = new Map<number, { pc: PeerConnection; out: Track[]; inbound?: Track }>();
const send = (m: unknown): void => { process.send?.(m); };

process.on('message', (m: Msg) => {
  if (m.t === 'offer') {
    const pc = new PeerConnection(`sfu${m.id}`, { iceServers: [], bindAddress: '127.0.0.1' });
    const out: Track[] = [];
    const client = { pc, out, inbound: undefined as Track | undefined };
    clients.set(m.id, client);
    pc.onStateChange(() => {});
    pc.onLocalDescription((sdp, type) => { if (type === 'answer') send({ t: 'answer', id: m.id, sdp }); });
    pc.onLocalCandidate((c, mid) => send({ t: 'cand', id: m.id, c, mid }));
    for (let i = 0; i < BARE_VIDEO_ROOM; i++) {
      const v = new Video(String(i), i === 0 ? 'RecvOnly' : 'SendOnly');
      v.addVP8Codec(96);
      if (i > 0) v.addSSRC(downSsrc(m.id, i - 1), 'sfu');
      const t = pc.addTrack(v);
      t.onClosed(() => {});
      const id = m.id;
      // Down tracks read what arrives on them too, as the SFU's do (nothing does, here).
      t.onMessage(i === 0 ? (packet) => forward(id, packet as Buffer) : () => {});
      if (i === 0) client.inbound = t;
      else out.push(t);
    }
    pc.setRemoteDescription(m.sdp, 'offer');
  } else if (m.t === 'cand') {
    try { clients.get(m.id)?.pc.addRemoteCandidate(m.c, m.mid); } catch { /* before the description */ }
  } else if (m.t === 'cpu') {
    send({ t: 'cpu', cpu: process.cpuUsage() });
  }
});

/** Client `from`'s top-layer packet to the others of its room, on their down track for `from`. */
function forward(from: number, packet: Buffer): void {
  if (packet[1]! >= 192 && packet[1]! <= 223) return; // sender reports: dropped
  if (packet.readUInt32BE(8) !== bareVideoSsrc(from, 2)) return; // the lower layers: dropped
  const base = from - (from % BARE_VIDEO_ROOM);
  for (let k = base; k < base + BARE_VIDEO_ROOM; k++) {
    if (k === from) continue;
    // Member k receives the others on down tracks 0..2, in room order skipping itself.
    const slot = (from - base) - (from - base > k - base ? 1 : 0);
    const t = clients.get(k)?.out[slot];
    if (!t) continue;
    packet.writeUInt32BE(downSsrc(k, slot), 8);
    try { t.sendMessageBinary(packet); } catch { /* closed */ }
  }
}

send({ t: 'ready' });
