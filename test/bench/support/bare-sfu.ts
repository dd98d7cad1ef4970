/**
 * The floor under `callpeer loadtest` against an SFU: `peers` bare node-datachannel
 * connections in this process, each publishing one stream (a pre-built 92-byte RTP packet
 * every 20 ms) and hearing four, from a stand-in SFU in a child process pinned to another
 * core (bare-sfu-child.ts). What this process spends per packet is node-datachannel's own
 * price for the shape of traffic the load tester generates in SFU rooms.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { Audio, PeerConnection, type Track } from 'node-datachannel';
import { buildRtcp, cnameSdes, type RtcpPacket } from '../../../src/media/rtcp.js';
import { offerAsDtlsClient } from '../../../src/rtc/peer.js';
import { pinProcess } from './pin.js';

export interface BareSfuResult {
  /** Forward mode: the stand-in SFU's own CPU per packet it forwarded, µs. */
  childUsPerForwarded?: number;
  peers: number;
  sentPerSecond: number;
  receivedPerSecond: number;
  cpuPercent: number;
  usPerPacket: number;
  connected: number;
}

type ChildMsg = { t: string; id: number; sdp?: string; c?: string; mid?: string };

/** Runs `peers` bare SFU-shaped connections for `holdS` seconds; the child goes on core `childCore`. */
export async function runBareSfu(peers: number, holdS: number, childCore: number | undefined, mode: 'timed' | 'forward' = 'timed'): Promise<BareSfuResult> {
  const child = fork(path.join(import.meta.dirname, 'bare-sfu-child.ts'), mode === 'forward' ? ['forward'] : [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const childCpu = (): Promise<NodeJS.CpuUsage> => new Promise((resolve) => {
    const on = (m: { t: string; cpu?: NodeJS.CpuUsage }): void => { if (m.t === 'cpu') { child.off('message', on); resolve(m.cpu!); } };
    child.on('message', on);
    child.send({ t: 'cpu' });
  });
  await new Promise((r) => child.once('message', r));
  if (childCore !== undefined) pinProcess(child.pid!, childCore);
  // Every Track is kept referenced: a collected wrapper stops delivering.
  const clients = new Map<number, { pc: PeerConnection; tracks: Track[]; open: boolean }>();
  let received = 0;
  child.on('message', (m: ChildMsg) => {
    const c = clients.get(m.id);
    if (!c) return;
    if (m.t === 'answer') c.pc.setRemoteDescription(m.sdp!, 'answer');
    else if (m.t === 'cand') { try { c.pc.addRemoteCandidate(m.c!, m.mid!); } catch { /* before the description */ } }
  });
  for (let id = 0; id < peers; id++) {
    const pc = new PeerConnection(`c${id}`, { iceServers: [], bindAddress: '127.0.0.1' });
    pc.onStateChange(() => {});
    pc.onLocalDescription((sdp, type) => { if (type === 'offer') child.send({ t: 'offer', id, sdp: offerAsDtlsClient(sdp) }); });
    pc.onLocalCandidate((c, mid) => child.send({ t: 'cand', id, c, mid }));
    const tracks: Track[] = [];
    for (let i = 0; i < 5; i++) {
      const a = new Audio(String(i), i === 0 ? 'SendOnly' : 'RecvOnly');
      a.addOpusCodec(111);
      if (i === 0) a.addSSRC(0x90000 + id, 'c');
      const t = pc.addTrack(a);
      t.onClosed(() => {});
      if (i > 0) t.onMessage(() => { received++; });
      tracks.push(t);
    }
    const entry = { pc, tracks, open: false };
    tracks[0]!.onOpen(() => { entry.open = true; });
    clients.set(id, entry);
    pc.setLocalDescription();
    // 20 setups at a time, as a ramp would.
    if (id % 20 === 19) {
      const until = performance.now() + 5000;
      while ([...clients.values()].some((c) => !c.open) && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    }
  }
  await new Promise((r) => setTimeout(r, 1000));
  child.send({ t: 'go' });
  const packet = Buffer.alloc(92, 0xab);
  packet[0] = 0x80;
  packet[1] = 111;
  let seq = 0;
  let sent = 0;
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    packet.writeUInt16BE(seq & 0xffff, 2);
    seq++;
    for (const [id, c] of clients) {
      packet.writeUInt32BE(0x90000 + id, 8);
      try { if (c.tracks[0]!.sendMessageBinary(packet)) sent++; } catch { /* closed */ }
    }
    timer = setTimeout(tick, Math.max(0, start + seq * 20 - performance.now()));
  };
  tick();
  // Forward mode: each client reports once a second as the load tester's peers do (an SR on
  // its send track, an RR on each receive track), so the bare loop receives the RTCP an SFU
  // gets from them, not RTP alone. Built once: the loop drops it unread.
  let reports: NodeJS.Timeout | undefined;
  if (mode === 'forward') {
    const block = { fractionLost: 0, packetsLost: 0, highestSeq: 0, jitter: 0, lsr: 0, dlsr: 0 };
    const rtcp = (id: number, k: number): Buffer => {
      const own = 0x90000 + id;
      const p: RtcpPacket = k === 0
        ? { type: 'sr', ssrc: own, ntpSeconds: 0, ntpFraction: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0, reports: [] }
        : { type: 'rr', ssrc: own, reports: [{ ...block, ssrc: 0x5000 + id * 8 + k }] };
      return buildRtcp([p, cnameSdes(own, 'c')]);
    };
    const built = [...clients.keys()].map((id) => [0, 1, 2, 3, 4].map((k) => rtcp(id, k)));
    reports = setInterval(() => {
      for (const [id, c] of clients) c.tracks.forEach((t, k) => { try { t.sendMessageBinary(built[id]![k]!); } catch { /* closed */ } });
    }, 1000);
  }
  await new Promise((r) => setTimeout(r, 1500)); // settle
  const cpu0 = process.cpuUsage();
  const child0 = await childCpu();
  const s0 = sent;
  const r0 = received;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, holdS * 1000));
  const cpu = process.cpuUsage(cpu0);
  const child1 = await childCpu();
  const seconds = (performance.now() - t0) / 1000;
  clearTimeout(timer);
  clearInterval(reports);
  const connected = [...clients.values()].filter((c) => c.open).length;
  for (const c of clients.values()) { try { c.pc.close(); } catch { /* closed */ } }
  child.kill('SIGKILL');
  const sentPerSecond = (sent - s0) / seconds;
  const receivedPerSecond = (received - r0) / seconds;
  const cpuPercent = ((cpu.user + cpu.system) / 1e6 / seconds) * 100;
  const childUs = child1.user + child1.system - child0.user - child0.system;
  return {
    peers, sentPerSecond, receivedPerSecond, cpuPercent, usPerPacket: (cpuPercent * 1e4) / (sentPerSecond + receivedPerSecond), connected,
    ...(mode === 'forward' && { childUsPerForwarded: childUs / (receivedPerSecond * seconds) }),
  };
}
