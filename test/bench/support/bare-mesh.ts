/**
 * The floor under `callpeer loadtest`: the same mesh traffic moved by bare node-datachannel
 * in one process, with nothing of ours on the path. `links` pairs of PeerConnections
 * negotiated in-process (offerer as DTLS client, as a Peer does), one SendRecv Opus track
 * each end; every 20 ms each track sends one pre-built 92-byte RTP packet (the size of our
 * 32 kbps Opus frames) and counts what it hears by sequence number. What it costs per
 * packet is node-datachannel's own price (SRTP, libjuice's poll thread, libdatachannel's
 * worker, one thread-safe callback per received packet), which no JavaScript above it can
 * go under.
 */
import { Audio, PeerConnection, type Track } from 'node-datachannel';
import { offerAsDtlsClient } from '../../../src/rtc/peer.js';

const PAYLOAD_BYTES = 80;
const SETUP_BATCH = 20;
const SETUP_TIMEOUT_MS = 10_000;

interface End { pc: PeerConnection; track: Track; ssrc: number; received: number; highest: number; base: number }

function makeEnd(name: string, ssrc: number, stats: { received: number }): End {
  const pc = new PeerConnection(name, { iceServers: [], bindAddress: '127.0.0.1' });
  const au = new Audio('0', 'SendRecv');
  au.addOpusCodec(111);
  au.addSSRC(ssrc, name);
  const track = pc.addTrack(au);
  const end: End = { pc, track, ssrc, received: 0, highest: -1, base: -1 };
  track.onClosed(() => {});
  track.onMessage((buf) => {
    if (buf.length < 12 || (buf[1]! & 0x7f) !== 111) return; // RTCP
    const seq = buf.readUInt16BE(2);
    if (end.base < 0) end.base = seq;
    end.highest = Math.max(end.highest, seq);
    end.received++;
    stats.received++;
  });
  pc.onStateChange(() => {});
  return end;
}

function closeEnd(e: End): void {
  try { e.track.close(); } catch { /* already closed */ }
  try { e.pc.close(); } catch { /* already closed */ }
}

/** One pair negotiated in-process; rejects if its tracks are not open within the timeout. */
function connectPair(i: number, stats: { received: number }): Promise<[End, End]> {
  const a = makeEnd(`a${i}`, 0x1000 + 2 * i, stats);
  const b = makeEnd(`b${i}`, 0x1001 + 2 * i, stats);
  a.pc.onLocalDescription((sdp, type) => { if (type === 'offer') b.pc.setRemoteDescription(offerAsDtlsClient(sdp), 'offer'); });
  b.pc.onLocalDescription((sdp, type) => { if (type === 'answer') a.pc.setRemoteDescription(sdp, 'answer'); });
  a.pc.onLocalCandidate((c, mid) => { try { b.pc.addRemoteCandidate(c, mid); } catch { /* before the description */ } });
  b.pc.onLocalCandidate((c, mid) => { try { a.pc.addRemoteCandidate(c, mid); } catch { /* before the description */ } });
  const open = (t: Track) => new Promise<void>((r) => t.onOpen(() => r()));
  const both = Promise.all([open(a.track), open(b.track)]);
  a.pc.setLocalDescription();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('bare pair did not open')), SETUP_TIMEOUT_MS); });
  return Promise.race([both, timeout]).then(
    () => { clearTimeout(timer); return [a, b] as [End, End]; },
    (err: unknown) => { clearTimeout(timer); closeEnd(a); closeEnd(b); throw err; },
  );
}

export interface BareMeshResult {
  links: number;
  /** Packets sent + received per second over the hold. */
  packetsPerSecond: number;
  /** Process CPU (all threads) over the hold, % of one core. */
  cpuPercent: number;
  usPerPacket: number;
  lossPercent: number;
  /** Pairs whose first setup the library refused and that were made again. */
  remade: number;
}

/** Sets up `links` bare pairs, sends 50 packets/s each way on each for `holdS`, measures. */
export async function runBareMesh(links: number, holdS: number): Promise<BareMeshResult> {
  const stats = { received: 0 };
  const pairs: [End, End][] = [];
  let remade = 0;
  for (let i = 0; i < links; i += SETUP_BATCH) {
    const batch = Array.from({ length: Math.min(SETUP_BATCH, links - i) }, (_, k) => i + k);
    for (const idx of batch) {
      // libdatachannel now and then refuses a first DTLS handshake (see README): make it again.
      for (let attempt = 1; ; attempt++) {
        try {
          pairs.push(await connectPair(idx + attempt * 100_000, stats));
          break;
        } catch (err) {
          if (attempt === 3) throw err;
          remade++;
        }
      }
    }
  }
  const ends = pairs.flat();
  const packet = Buffer.alloc(12 + PAYLOAD_BYTES, 0xab);
  packet[0] = 0x80;
  packet[1] = 111;
  let seq = 0;
  let sent = 0;
  const tick = (): void => {
    packet.writeUInt16BE(seq & 0xffff, 2);
    packet.writeUInt32BE((seq * 960) >>> 0, 4);
    seq++;
    for (const e of ends) {
      packet.writeUInt32BE(e.ssrc, 8);
      if (e.track.sendMessageBinary(packet)) sent++;
    }
  };
  // Drift-free 20 ms ticks, like the load tester's pacer.
  const start = performance.now();
  let n = 0;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => { timer = setTimeout(() => { tick(); n++; schedule(); }, Math.max(0, start + (n + 1) * 20 - performance.now())); };
  schedule();
  await new Promise((r) => setTimeout(r, 1000)); // settle
  const cpu0 = process.cpuUsage();
  const sent0 = sent;
  const recv0 = stats.received;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, holdS * 1000));
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  const moved = sent - sent0 + stats.received - recv0;
  clearTimeout(timer);
  await new Promise((r) => setTimeout(r, 200)); // the last packets land
  let expected = 0;
  let received = 0;
  for (const e of ends) {
    if (e.base >= 0) expected += e.highest - e.base + 1;
    received += e.received;
  }
  for (const e of ends) closeEnd(e);
  const cpuPercent = ((cpu.user + cpu.system) / 1e6 / seconds) * 100;
  const packetsPerSecond = moved / seconds;
  return {
    links, packetsPerSecond, cpuPercent, usPerPacket: (cpuPercent * 1e4) / packetsPerSecond,
    lossPercent: expected > 0 ? Math.max(0, (100 * (expected - received)) / expected) : 100, remade,
  };
}
