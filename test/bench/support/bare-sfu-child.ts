/**
 * The far end for support/bare-sfu.ts: a stand-in SFU of bare node-datachannel. For each
 * client it answers an offer of one send-only + four receive-only audio sections, takes the
 * client's stream and, every 20 ms, sends a pre-built packet on each of the four others: the
 * traffic an SFU sends a member of a room of 5, without forwarding logic of any kind.
 * With argv[2] `forward` it is instead the bare forwarding loop sfu-forward.bench.ts compares
 * callpeer's SFU with: each packet a client sends goes, SSRC rewritten in place, to the four
 * others of its room of 5, and nothing more (no parsing, no rewriting state; the RTCP the
 * clients send, as the load tester's peers do, is received and dropped).
 */
import { Audio, PeerConnection, type Track } from 'node-datachannel';

type Msg = { t: 'offer'; id: number; sdp: string } | { t: 'cand'; id: number; c: string; mid: string } | { t: 'go' } | { t: 'cpu' };

const FORWARD = process.argv[2] === 'forward';
const ROOM = 5;

// Every Track is kept referenced: a collected wrapper stops delivering.
const clients = new Map<number, { pc: PeerConnection; out: Track[]; inbound?: Track }>();
const send = (m: unknown): void => { process.send?.(m); };

process.on('message', (m: Msg) => {
  if (m.t === 'offer') {
    const pc = new PeerConnection(`sfu${m.id}`, { iceServers: [], bindAddress: '127.0.0.1' });
    const out: Track[] = [];
    clients.set(m.id, { pc, out });
    pc.onStateChange(() => {});
    pc.onLocalDescription((sdp, type) => { if (type === 'answer') send({ t: 'answer', id: m.id, sdp }); });
    pc.onLocalCandidate((c, mid) => send({ t: 'cand', id: m.id, c, mid }));
    for (let i = 0; i < 5; i++) {
      const a = new Audio(String(i), i === 0 ? 'RecvOnly' : 'SendOnly');
      a.addOpusCodec(111);
      if (i > 0) a.addSSRC(0x5000 + m.id * 8 + i, 'sfu');
      const t = pc.addTrack(a);
      t.onClosed(() => {});
      if (i === 0) {
        const id = m.id;
        t.onMessage(FORWARD ? (packet) => forward(id, packet as Buffer) : () => {});
        clients.get(m.id)!.inbound = t;
      } else {
        // Forwarding, the RTCP the clients send about these streams arrives here: received, dropped.
        if (FORWARD) t.onMessage(() => {});
        out.push(t);
      }
    }
    pc.setRemoteDescription(m.sdp, 'offer');
  } else if (m.t === 'cand') {
    try { clients.get(m.id)?.pc.addRemoteCandidate(m.c, m.mid); } catch { /* before the description */ }
  } else if (m.t === 'cpu') {
    send({ t: 'cpu', cpu: process.cpuUsage() });
  } else if (m.t === 'go' && !FORWARD) {
    const packet = Buffer.alloc(92, 0xab);
    packet[0] = 0x80;
    packet[1] = 111;
    let seq = 0;
    const start = performance.now();
    const tick = (): void => {
      packet.writeUInt16BE(seq & 0xffff, 2);
      seq++;
      for (const [id, c] of clients) {
        c.out.forEach((t, k) => {
          packet.writeUInt32BE(0x5000 + id * 8 + k + 1, 8);
          try { t.sendMessageBinary(packet); } catch { /* closed */ }
        });
      }
      setTimeout(tick, Math.max(0, start + seq * 20 - performance.now()));
    };
    tick();
  }
});
/** Client `from`'s packet to the others of its room: on member k's track for `from`, SSRC rewritten in place. */
function forward(from: number, packet: Buffer): void {
  if (packet[1]! >= 192 && packet[1]! <= 223) return; // the client's SR: dropped
  const base = from - (from % ROOM);
  for (let k = base; k < base + ROOM; k++) {
    if (k === from) continue;
    const c = clients.get(k);
    // Member k hears the others on out tracks 0..3, in room order skipping itself.
    const slot = (from - base) - (from - base > k - base ? 1 : 0);
    const t = c?.out[slot];
    if (!t) continue;
    packet.writeUInt32BE(0x5000 + k * 8 + slot + 1, 8);
    try { t.sendMessageBinary(packet); } catch { /* closed */ }
  }
}

send({ t: 'ready' });
