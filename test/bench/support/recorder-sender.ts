/**
 * The senders for test/bench/recorder.bench.ts, in their own process so the parent's CPU
 * figures hold only its receiving/recording side: `count` bare node-datachannel
 * PeerConnections, each offering one send-only Opus track over IPC and then sending a real
 * 20 ms Opus packet every 20 ms (spread over the period, as independent clients would).
 */
import { Audio, cleanup, PeerConnection, type Track } from 'node-datachannel';

type Msg =
  | { t: 'answer'; i: number; sdp: string }
  | { t: 'candidate'; i: number; candidate: string; mid: string }
  | { t: 'exit' };

const count = Number(process.argv[2] ?? 10);
const payload = Buffer.from(process.argv[3] ?? '', 'hex');
const send = (m: unknown): void => { process.send?.(m); };

interface Sender { pc: PeerConnection; track: Track; ssrc: number; seq: number; ts: number; open: boolean }
const senders: Sender[] = [];
for (let i = 0; i < count; i++) {
  const pc = new PeerConnection(`s${i}`, { iceServers: [], bindAddress: '127.0.0.1' });
  const ssrc = 0x1000 + i;
  const au = new Audio('0', 'SendOnly');
  au.addOpusCodec(111);
  au.addSSRC(ssrc, `s${i}`, `s${i}`, `a${i}`);
  const track = pc.addTrack(au);
  const s: Sender = { pc, track, ssrc, seq: (i * 7919) & 0xffff, ts: (i * 104729) >>> 0, open: false };
  track.onOpen(() => { s.open = true; send({ t: 'open', i }); });
  track.onMessage(() => {}); // RTCP from the receiver
  track.onClosed(() => {});
  pc.onLocalDescription((sdp, type) => send({ t: 'offer', i, sdp, type }));
  pc.onLocalCandidate((candidate, mid) => send({ t: 'candidate', i, candidate, mid }));
  pc.onStateChange(() => {});
  senders.push(s);
  pc.setLocalDescription();
}

const packet = Buffer.alloc(12 + payload.length);
packet[0] = 0x80;
packet[1] = 111;
payload.copy(packet, 12);
let tick = 0;
const start = performance.now();
const timer = setInterval(() => {
  // Each ms, the senders whose slot it is; catch up if the timer ran late.
  const due = Math.floor(performance.now() - start);
  for (; tick <= due; tick++) {
    for (let i = tick % 20; i < senders.length; i += 20) {
      const s = senders[i]!;
      s.seq = (s.seq + 1) & 0xffff;
      s.ts = (s.ts + 960) >>> 0;
      if (!s.open) continue;
      packet.writeUInt16BE(s.seq, 2);
      packet.writeUInt32BE(s.ts, 4);
      packet.writeUInt32BE(s.ssrc, 8);
      s.track.sendMessageBinary(packet);
    }
  }
}, 1);

process.on('message', (m: Msg) => {
  if (m.t === 'answer') senders[m.i]!.pc.setRemoteDescription(m.sdp, 'answer');
  else if (m.t === 'candidate') {
    try { senders[m.i]!.pc.addRemoteCandidate(m.candidate, m.mid); } catch { /* before the description */ }
  } else if (m.t === 'exit') {
    clearInterval(timer);
    for (const s of senders) s.pc.close();
    cleanup();
    process.exit(0);
  }
});
