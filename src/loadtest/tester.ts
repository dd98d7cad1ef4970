/**
 * One simulated WebRTC peer: a MeshAgent in a room that publishes the shared Opus source
 * (publishers) and listens to everyone, keeping plain counters: when it joined, when each
 * link connected and heard its first packet, RFC 3550 reception stats per stream, what the
 * remotes' receiver reports say (RTT), and errors by kind. It never throws: whatever goes
 * wrong is counted, so one failing peer does not stop the run.
 */
import { MeshAgent, type RemotePeer } from '../client/mesh-agent.js';
import { toCallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { MediaTrack } from '../rtc/media-track.js';
import { OpusSender } from '../rtc/opus-sender.js';
import { RtpReceiver } from '../rtc/rtp-receiver.js';
import type { SendLog, SharedAudio } from './media.js';
import type { WebRtcLoadParams } from './params.js';
import { streamKbps, type LatencyHistogram, type LinkFigures, type PeerFigures, type StreamFigures } from './stats.js';

/** What every tester of a run shares. */
export interface TesterContext {
  wsUrl: string;
  params: WebRtcLoadParams;
  audio: SharedAudio;
  sendLog: SendLog;
  /** Every packet's one-way latency, all peers together. */
  latency: LatencyHistogram;
  log: Logger;
}

/** Where a tester sits: its room and what that room holds. */
export interface TesterPlace {
  index: number;
  room: string;
  publisher: boolean;
  roomSize: number;
  publishersInRoom: number;
}

interface StreamCounters {
  /** Packets seen on the track before the drop hook (its n). */
  arrived: number;
  firstAt: number;
  lastAt: number;
  latencySum: number;
  latencyCount: number;
}

interface Stream extends StreamCounters {
  receiver: RtpReceiver;
}

interface Link {
  remote: RemotePeer;
  initiator: boolean;
  remotePublishes: boolean;
  connectAt: number | undefined;
  firstPacketAt: number | undefined;
  senders: OpusSender[];
  streams: Stream[];
}

const RTP_HEADER_BYTES = 12;

export class WebRtcTester {
  private readonly agent: MeshAgent;
  private readonly links = new Map<string, Link>();
  private readonly errors: Record<string, number> = {};
  private startAt = 0;
  private joinedAt: number | undefined;
  private firstSendAt: number | undefined;
  /** Counters of links already closed, so their figures survive them. */
  private readonly gone: { sentPackets: number; sentBytes: number; streams: StreamFigures[] } = { sentPackets: 0, sentBytes: 0, streams: [] };
  private stopping = false;

  constructor(private readonly ctx: TesterContext, readonly place: TesterPlace) {
    const p = ctx.params;
    this.agent = new MeshAgent({
      wsUrl: ctx.wsUrl,
      room: place.room,
      name: `loadtest-${place.index}`,
      audio: place.publisher,
      ...(p.token !== undefined && { token: p.token }),
      log: ctx.log,
      peer: {
        connectTimeoutMs: p.connectTimeoutMs,
        ...(p.bindAddress !== undefined && { bindAddress: p.bindAddress }),
        ...(p.iceServers !== undefined && { iceServers: p.iceServers }),
      },
      // A dropped socket is an error of the run, not something to paper over with a re-join.
      signaling: { reconnect: false, insecure: p.insecure },
    });
    const a = this.agent;
    a.on('peer', (remote, { initiator }) => this.links.set(remote.participant.id, {
      remote, initiator, remotePublishes: remote.participant.audio, connectAt: undefined, firstPacketAt: undefined, senders: [], streams: [],
    }));
    a.on('connected', (remote) => {
      const link = this.linkOf(remote);
      if (link && link.connectAt === undefined) link.connectAt = performance.now();
    });
    a.on('negotiated', (remote) => this.attachSenders(remote));
    a.on('track', (remote, track) => this.attachReceiver(remote, track));
    a.on('peer-closed', (remote, reason) => this.onPeerClosed(remote, reason));
    a.on('disconnected', () => this.count('signaling-lost'));
  }

  /** Joins; resolves either way (a refusal is counted under its code, e.g. ROOM_FULL). */
  async start(): Promise<void> {
    this.startAt = performance.now();
    try {
      await this.agent.start();
      this.joinedAt = performance.now();
    } catch (err) {
      this.count(toCallpeerError(err, 'CONNECTION_FAILED').code);
    }
  }

  get joined(): boolean {
    return this.joinedAt !== undefined;
  }

  /** Plain counters as of `now` (performance.now()). */
  snapshot(now: number): PeerFigures {
    const { place } = this;
    const links = [...this.links.values()];
    const rel = (t: number | undefined) => (t === undefined ? null : t - this.startAt);
    const linkFigures: LinkFigures[] = links.map((l) => ({
      remote: l.remote.participant.id, initiator: l.initiator, remotePublishes: l.remotePublishes,
      connectMs: rel(l.connectAt), firstPacketMs: rel(l.firstPacketAt),
    }));
    const streams = [...this.gone.streams, ...links.flatMap((l) => l.streams.map((s) => streamFigures(l.remote.participant.id, s)))];
    let sentPackets = this.gone.sentPackets;
    let sentBytes = this.gone.sentBytes;
    const rttMs: number[] = [];
    for (const l of links) {
      for (const s of l.senders) {
        const st = s.stats();
        sentPackets += st.packetsSent;
        sentBytes += st.octetsSent + RTP_HEADER_BYTES * st.packetsSent;
        const rtt = st.remote?.rttMs;
        if (rtt !== undefined) rttMs.push(rtt);
      }
    }
    const heard = new Set(streams.filter((s) => s.packets > 0).map((s) => s.from));
    const sendSeconds = this.firstSendAt === undefined ? 0 : (now - this.firstSendAt) / 1000;
    return {
      index: place.index,
      id: this.agent.id ?? null,
      room: place.room,
      role: place.publisher ? 'publisher' : 'subscriber',
      joinMs: rel(this.joinedAt),
      peersExpected: place.roomSize - 1,
      peersConnected: links.filter((l) => l.connectAt !== undefined).length,
      tracksExpected: place.publishersInRoom - (place.publisher ? 1 : 0),
      tracksReceived: heard.size,
      links: linkFigures,
      streams,
      sent: { packets: sentPackets, bytes: sentBytes, kbps: sendSeconds > 0 ? (sentBytes * 8) / sendSeconds / 1000 : 0 },
      rttMs,
      errors: { ...this.errors },
    };
  }

  /** Leaves the room; what closes from here on is not an error. */
  async close(): Promise<void> {
    this.stopping = true;
    for (const l of this.links.values()) this.detach(l);
    await this.agent.close().catch(() => undefined);
  }

  private count(kind: string): void {
    if (!this.stopping) this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  private linkOf(remote: RemotePeer): Link | undefined {
    const link = this.links.get(remote.participant.id);
    return link?.remote === remote ? link : undefined;
  }

  private attachSenders(remote: RemotePeer): void {
    const link = this.linkOf(remote);
    if (!link || !this.place.publisher || link.senders.length > 0) return;
    for (const track of remote.peer.tracks()) {
      if (track.kind !== 'audio' || !(track.direction === 'sendrecv' || track.direction === 'sendonly')) continue;
      this.ctx.sendLog.watch(track);
      const sender = new OpusSender(track, { logger: this.ctx.log });
      link.senders.push(sender);
      this.ctx.audio.add(sender);
      this.firstSendAt ??= performance.now();
      break; // one published stream per link
    }
  }

  private attachReceiver(remote: RemotePeer, track: MediaTrack): void {
    const link = this.linkOf(remote);
    if (!link || track.kind !== 'audio') return;
    const { sendLog, latency } = this.ctx;
    const drop = this.ctx.params.hooks?.dropReceived;
    const counters: StreamCounters = { arrived: 0, firstAt: 0, lastAt: 0, latencySum: 0, latencyCount: 0 };
    const receiver = new RtpReceiver(track, {
      attach: false,
      logger: this.ctx.log,
      onPacket: (_packet, h) => {
        const now = performance.now();
        if (counters.firstAt === 0) counters.firstAt = now;
        counters.lastAt = now;
        const ms = sendLog.latency(h.ssrc, h.sequenceNumber, now);
        if (ms !== undefined) {
          latency.add(ms);
          counters.latencySum += ms;
          counters.latencyCount++;
        }
      },
    });
    const stream: Stream = Object.assign(counters, { receiver });
    track.onRtp = (packet) => {
      stream.arrived++;
      if (drop?.(stream.arrived)) return;
      link.firstPacketAt ??= performance.now();
      stream.receiver.handleRtp(packet);
    };
    link.streams.push(stream);
  }

  private onPeerClosed(remote: RemotePeer, reason: string): void {
    const link = this.linkOf(remote);
    if (reason !== 'closed') this.count(`peer-${reason}`);
    if (!link) return;
    // Keep what the link counted: a remote that left mid-run still delivered packets.
    const snap = this.snapshotLink(link);
    this.gone.sentPackets += snap.packets;
    this.gone.sentBytes += snap.bytes;
    this.gone.streams.push(...link.streams.map((s) => streamFigures(remote.participant.id, s)));
    this.detach(link);
    this.links.delete(remote.participant.id);
  }

  private snapshotLink(link: Link): { packets: number; bytes: number } {
    let packets = 0;
    let bytes = 0;
    for (const s of link.senders) {
      const st = s.stats();
      packets += st.packetsSent;
      bytes += st.octetsSent + RTP_HEADER_BYTES * st.packetsSent;
    }
    return { packets, bytes };
  }

  private detach(link: Link): void {
    for (const s of link.senders) {
      this.ctx.audio.delete(s);
      this.ctx.sendLog.forget(s.ssrc);
      s.close();
    }
    link.senders = [];
  }
}

/** One received track's counters as StreamFigures. */
function streamFigures(from: string, s: Stream): StreamFigures {
  const rx = s.receiver.stats();
  const packets = rx.reduce((n, r) => n + r.received, 0);
  const expected = rx.reduce((n, r) => n + r.expected, 0);
  const lost = rx.reduce((n, r) => n + Math.max(0, r.cumulativeLost), 0);
  const bytes = rx.reduce((n, r) => n + r.bytes, 0);
  return {
    from,
    packets,
    expected,
    lost,
    lossPercent: expected > 0 ? (100 * lost) / expected : 0,
    bytes,
    kbps: streamKbps(bytes, s.firstAt, s.lastAt),
    jitterMs: rx.length ? Math.max(...rx.map((r) => r.jitterMs)) : 0,
    latencyMeanMs: s.latencyCount > 0 ? s.latencySum / s.latencyCount : null,
  };
}
