/**
 * The bare video forwarding loop of sfu-forward.bench.ts: `rooms` rooms of 4 bare
 * node-datachannel clients, each sending the three simulcast layers of the libvpx fixtures at
 * 15 fps (packetized as Vp8SimulcastSender does, a sender report a second) and receiving the
 * other three cameras, through bare-video-child.ts pinned to another core, which forwards
 * each client's top layer and nothing else. The same packets callpeer's SFU is given.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { PeerConnection, Video, type Track } from 'node-datachannel';
import { buildRtcp, cnameSdes } from '../../../src/media/rtcp.js';
import { packetizeVp8 } from '../../../src/media/vp8-packetizer.js';
import { offerAsDtlsClient } from '../../../src/rtc/peer.js';
import { VP8_LAYERS } from '../../integration/sfu-helpers.js';
import { BARE_VIDEO_ROOM, bareVideoSsrc } from './bare-video-ssrcs.js';
import { pinProcess } from './pin.js';

export interface BareVideoResult {
  connected: number;
  receivedPerSecond: number;
  /** The forwarder's CPU per packet it forwarded, µs. */
  childUsPerForwarded: number;
}

const FPS = 15;
/** Each layer's frames packetized once (picture ids need not move: nothing parses them). */
const PACKETS = VP8_LAYERS.map((frames) => frames.map((f, i) => packetizeVp8(f.data, i & 0x7fff, i & 0xff, 1100)));

type ChildMsg = { t: string; id: number; sdp?: string; c?: string; mid?: string; cpu?: NodeJS.CpuUsage };

export async function runBareVideo(rooms: number, holdS: number, childCore: number | undefined): Promise<BareVideoResult> {
  const child = fork(path.join(import.meta.dirname, 'bare-video-child.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const childCpu = (): Promise<NodeJS.CpuUsage> => new Promise((resolve) => {
    const on = (m: ChildMsg): void => { if (m.t === 'cpu') { child.off('message', on); resolve(m.cpu!); } };
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
  for (let id = 0; id < rooms * BARE_VIDEO_ROOM; id++) {
    const pc = new PeerConnection(`c${id}`, { iceServers: [], bindAddress: '127.0.0.1' });
    pc.onStateChange(() => {});
    pc.onLocalDescription((sdp, type) => { if (type === 'offer') child.send({ t: 'offer', id, sdp: offerAsDtlsClient(sdp) }); });
    pc.onLocalCandidate((c, mid) => child.send({ t: 'cand', id, c, mid }));
    const tracks: Track[] = [];
    for (let i = 0; i < BARE_VIDEO_ROOM; i++) {
      const v = new Video(String(i), i === 0 ? 'SendOnly' : 'RecvOnly');
      v.addVP8Codec(96);
      if (i === 0) {
        for (let layer = 0; layer < 3; layer++) v.addSSRC(bareVideoSsrc(id, layer), 'c', 'c', 'camera');
        v.parseSdpLine(`a=ssrc-group:SIM ${[0, 1, 2].map((layer) => bareVideoSsrc(id, layer)).join(' ')}`);
      }
      const t = pc.addTrack(v);
      t.onClosed(() => {});
      if (i > 0) t.onMessage((p) => { const b = p as Buffer; if (b[1]! < 192 || b[1]! > 223) received++; });
      tracks.push(t);
    }
    const entry = { pc, tracks, open: false };
    tracks[0]!.onOpen(() => { entry.open = true; });
    clients.set(id, entry);
    pc.setLocalDescription();
  }
  const until = performance.now() + 10_000;
  while ([...clients.values()].some((c) => !c.open) && performance.now() < until) await new Promise((r) => setTimeout(r, 20));

  const scratch = Buffer.alloc(1500);
  let frame = 0;
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const seqs = new Map<number, number>();
  const tick = (): void => {
    const ts = (frame * (90000 / FPS)) >>> 0;
    for (const [id, c] of clients) {
      for (let layer = 0; layer < 3; layer++) {
        const packets = PACKETS[layer]!;
        const payloads = packets[frame % packets.length]!;
        const ssrc = bareVideoSsrc(id, layer);
        let seq = seqs.get(ssrc) ?? 0;
        payloads.forEach((payload, k) => {
          scratch[0] = 0x80;
          scratch[1] = (k === payloads.length - 1 ? 0x80 : 0) | 96;
          scratch.writeUInt16BE(seq, 2);
          scratch.writeUInt32BE(ts, 4);
          scratch.writeUInt32BE(ssrc, 8);
          payload.copy(scratch, 12);
          seq = (seq + 1) & 0xffff;
          try { c.tracks[0]!.sendMessageBinary(scratch.subarray(0, 12 + payload.length)); } catch { /* closed */ }
        });
        seqs.set(ssrc, seq);
      }
    }
    frame++;
    timer = setTimeout(tick, Math.max(0, start + (frame * 1000) / FPS - performance.now()));
  };
  tick();
  // A sender report a second per client, as Vp8SimulcastSender sends (built once: nothing reads it).
  const reports = [...clients.keys()].map((id) => buildRtcp([
    ...[0, 1, 2].map((layer) => ({ type: 'sr' as const, ssrc: bareVideoSsrc(id, layer), ntpSeconds: 0, ntpFraction: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0, reports: [] })),
    cnameSdes(bareVideoSsrc(id, 0), 'c'),
  ]));
  const srTimer = setInterval(() => { for (const [id, c] of clients) { try { c.tracks[0]!.sendMessageBinary(reports[id]!); } catch { /* closed */ } } }, 1000);
  await new Promise((r) => setTimeout(r, 1500)); // settle
  const child0 = await childCpu();
  const r0 = received;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, holdS * 1000));
  const child1 = await childCpu();
  const seconds = (performance.now() - t0) / 1000;
  const forwarded = received - r0;
  clearTimeout(timer);
  clearInterval(srTimer);
  const connected = [...clients.values()].filter((c) => c.open).length;
  for (const c of clients.values()) { try { c.pc.close(); } catch { /* closed */ } }
  child.kill('SIGKILL');
  return {
    connected,
    receivedPerSecond: forwarded / seconds,
    childUsPerForwarded: (child1.user + child1.system - child0.user - child0.system) / forwarded,
  };
}
