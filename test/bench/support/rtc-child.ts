/**
 * The far end for test/bench/rtc-packet.bench.ts, in its own process so the parent's CPU
 * figures hold only its own send or receive path: a bare node-datachannel PeerConnection that
 * answers the parent's one-audio-track offer over IPC, counts what it receives and, on
 * request, sends `count` RTP packets in bursts.
 */
import { Audio, cleanup, PeerConnection, type Track } from 'node-datachannel';

type Msg =
  | { t: 'offer'; sdp: string }
  | { t: 'candidate'; candidate: string; mid: string }
  | { t: 'send'; count: number; burst: number; intervalMs: number }
  | { t: 'count' }
  | { t: 'exit' };

const SSRC = 0x0c0ffee0;
const pc = new PeerConnection('child', { iceServers: [], bindAddress: '127.0.0.1' });
let track: Track | undefined;
let received = 0;
const send = (m: unknown): void => { process.send?.(m); };

pc.onLocalDescription((sdp, type) => send({ t: 'description', sdp, type }));
pc.onLocalCandidate((candidate, mid) => send({ t: 'candidate', candidate, mid }));
pc.onStateChange(() => {});

process.on('message', (m: Msg) => {
  if (m.t === 'offer') {
    const mid = /a=mid:(\S+)/.exec(m.sdp)?.[1] ?? '0';
    const au = new Audio(mid, 'SendRecv');
    au.addOpusCodec(111);
    au.addSSRC(SSRC, 'child');
    track = pc.addTrack(au);
    track.onClosed(() => {});
    track.onOpen(() => send({ t: 'open' }));
    track.onMessage(() => { received++; });
    pc.setRemoteDescription(m.sdp, 'offer');
  } else if (m.t === 'candidate') {
    try { pc.addRemoteCandidate(m.candidate, m.mid); } catch { /* before the description: peer-reflexive covers it */ }
  } else if (m.t === 'send') {
    const packet = Buffer.alloc(12 + 80, 0xab);
    packet[0] = 0x80; packet[1] = 111; packet.writeUInt32BE(SSRC, 8);
    let seq = 0;
    const burst = (): void => {
      for (let i = 0; i < m.burst && seq < m.count; i++, seq++) {
        packet.writeUInt16BE(seq & 0xffff, 2);
        packet.writeUInt32BE((seq * 960) >>> 0, 4);
        track?.sendMessageBinary(packet);
      }
      if (seq < m.count) setTimeout(burst, m.intervalMs);
      else send({ t: 'sent' });
    };
    burst();
  } else if (m.t === 'count') {
    send({ t: 'count', received });
  } else if (m.t === 'exit') {
    track?.close(); // releases its callbacks before the connection goes
    pc.close();
    cleanup();
    process.exit(0);
  }
});
send({ t: 'ready' });
