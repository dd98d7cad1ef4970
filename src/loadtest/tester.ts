/**
 * One simulated WebRTC peer: a room member that publishes the shared Opus source
 * (publishers) and listens to everyone, keeping plain counters: when it joined, when each
 * link connected and heard its first packet, RFC 3550 reception stats per stream, what the
 * remotes' receiver reports say (RTT), and errors by kind. It never throws: whatever goes
 * wrong is counted, so one failing peer does not stop the run.
 * In a mesh room a link is a connection to another member; in an SFU room there is one
 * connection, to the server, and a link per publisher heard through it.
 */
import type { AgentOptions } from '../client/agent-options.js';
import { MeshAgent, type RemotePeer } from '../client/mesh-agent.js';
import { joinRoom } from '../client/room-agent.js';
import type { SfuAgent } from '../client/sfu-agent.js';
import type { Peer } from '../rtc/peer.js';
import type { Topology } from '../protocol/signaling.js';
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
  /** A free local UDP port every SFU connection of the run shares (one socket, one I/O thread). */
  sfuUdpPort?: number;
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
  private agent: MeshAgent | SfuAgent | undefined;
  private readonly agentOptions: AgentOptions;
  private readonly links = new Map<string, Link>();
  /** SFU rooms: who was in the room when we joined. */
  private readonly presentAtJoin = new Set<string>();
  /** SFU rooms: our one stream, sent once to the server, and when the server connection came up. */
  private readonly sfu: { sender: OpusSender | undefined; connectedAt: number | undefined; connected: boolean } = { sender: undefined, connectedAt: undefined, connected: false };
  private readonly errors: Record<string, number> = {};
  private startAt = 0;
  private joinedAt: number | undefined;
  private firstSendAt: number | undefined;
  /** Counters of links already closed, so their figures survive them. */
  private readonly gone: { sentPackets: number; sentBytes: number; streams: StreamFigures[] } = { sentPackets: 0, sentBytes: 0, streams: [] };
  private stopping = false;

  constructor(private readonly ctx: TesterContext, readonly place: TesterPlace) {
    const p = ctx.params;
    this.agentOptions = {
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
      // One socket for all: libjuice polls every socket of the process on each wakeup, and a
      // generator with hundreds of connections spent a quarter of its core in that poll.
      ...(ctx.sfuUdpPort !== undefined && { sfuPeer: { enableIceUdpMux: true, portRangeBegin: ctx.sfuUdpPort, portRangeEnd: ctx.sfuUdpPort } }),
      // A dropped socket is an error of the run, not something to paper over with a re-join.
      signaling: { reconnect: false, insecure: p.insecure },
    };
  }

  private wireMesh(a: MeshAgent): void {
    a.on('peer', (remote, { initiator }) => this.links.set(remote.participant.id, newLink(remote, initiator, remote.participant.audio)));
    a.on('connected', (remote) => {
      const link = this.linkOf(remote);
      if (link && link.connectAt === undefined) link.connectAt = performance.now();
    });
    a.on('negotiated', (remote) => this.attachMeshSender(remote));
    a.on('track', (remote, track) => { const link = this.linkOf(remote); if (link) this.attachReceiver(link, remote.participant.id, track); });
    a.on('peer-closed', (remote, reason) => this.onPeerClosed(remote, reason));
    a.on('disconnected', () => this.count('signaling-lost'));
  }

  private wireSfu(a: SfuAgent): void {
    a.on('joined', (joined) => { for (const p of joined.participants) this.presentAtJoin.add(p.id); });
    a.on('connected', () => {
      this.sfu.connected = true;
      this.sfu.connectedAt ??= performance.now();
      for (const l of this.links.values()) l.connectAt ??= this.sfu.connectedAt;
    });
    a.on('negotiated', (server) => this.attachSfuSender(server));
    a.on('track', (publisher, track) => {
      const participant = a.roomParticipants().find((x) => x.id === publisher)
        ?? { id: publisher, name: publisher, role: 'participant' as const, audio: true, video: false, screen: false, metadata: {} };
      const remote: RemotePeer = { participant, peer: a.server! };
      // Ours to time, as a mesh newcomer's offers are: publishers already there when we joined.
      const link = newLink(remote, this.presentAtJoin.has(publisher), true);
      link.connectAt = this.sfu.connectedAt;
      this.links.set(publisher, link);
      this.attachReceiver(link, publisher, track);
    });
    a.on('server-closed', (_server, reason) => {
      this.sfu.connected = false;
      if (reason !== 'closed') this.count(`peer-${reason}`);
      for (const l of [...this.links.values()]) this.retire(l);
      this.detachSfuSender();
    });
    a.on('disconnected', () => this.count('signaling-lost'));
  }

  /** Joins; resolves either way (a refusal is counted under its code, e.g. ROOM_FULL). */
  async start(): Promise<void> {
    this.startAt = performance.now();
    try {
      await joinRoom(this.agentOptions, (a) => {
        this.agent = a;
        if (a instanceof MeshAgent) this.wireMesh(a);
        else this.wireSfu(a);
      });
      this.joinedAt = performance.now();
    } catch (err) {
      this.count(toCallpeerError(err, 'CONNECTION_FAILED').code);
    }
  }

  get joined(): boolean {
    return this.joinedAt !== undefined;
  }

  get topology(): Topology | undefined {
    if (!this.agent) return undefined;
    return this.agent instanceof MeshAgent ? 'mesh' : 'sfu';
  }

  /** Plain counters as of `now` (performance.now()). */
  snapshot(now: number): PeerFigures {
    const { place } = this;
    const links = [...this.links.values()];
    const rel = (t: number | undefined) => (t === undefined ? null : t - this.startAt);
    const sfu = this.topology === 'sfu';
    const linkFigures: LinkFigures[] = links.map((l) => ({
      remote: l.remote.participant.id, initiator: l.initiator, remotePublishes: l.remotePublishes,
      connectMs: rel(l.connectAt), firstPacketMs: rel(l.firstPacketAt),
    }));
    const streams = [...this.gone.streams, ...links.flatMap((l) => l.streams.map((s) => streamFigures(l.remote.participant.id, s)))];
    let sentPackets = this.gone.sentPackets;
    let sentBytes = this.gone.sentBytes;
    const rttMs: number[] = [];
    const senders = links.flatMap((l) => l.senders);
    if (this.sfu.sender) senders.push(this.sfu.sender);
    for (const s of senders) {
      const sent = sentBy(s);
      sentPackets += sent.packets;
      sentBytes += sent.bytes;
      const rtt = s.stats().remote?.rttMs;
      if (rtt !== undefined) rttMs.push(rtt);
    }
    const heard = new Set(streams.filter((s) => s.packets > 0).map((s) => s.from));
    const sendSeconds = this.firstSendAt === undefined ? 0 : (now - this.firstSendAt) / 1000;
    return {
      index: place.index,
      id: this.agent?.id ?? null,
      room: place.room,
      role: place.publisher ? 'publisher' : 'subscriber',
      joinMs: rel(this.joinedAt),
      // SFU: the one connection, to the server.
      peersExpected: sfu ? 1 : place.roomSize - 1,
      peersConnected: sfu ? Number(this.sfu.connected) : links.filter((l) => l.connectAt !== undefined).length,
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
    this.detachSfuSender();
    await this.agent?.close().catch(() => undefined);
  }

  private count(kind: string): void {
    if (!this.stopping) this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  private linkOf(remote: RemotePeer): Link | undefined {
    const link = this.links.get(remote.participant.id);
    return link?.remote === remote ? link : undefined;
  }

  private attachMeshSender(remote: RemotePeer): void {
    const link = this.linkOf(remote);
    if (!link || link.senders.length > 0) return;
    const sender = this.publishOn(remote.peer);
    if (sender) link.senders.push(sender); // one published stream per link
  }

  private attachSfuSender(server: Peer): void {
    if (this.sfu.sender) return;
    // Through the SFU our SSRC is rewritten: receivers find our send times by our id.
    this.sfu.sender = this.publishOn(server, this.agent?.id);
  }

  /** Starts the shared source on `peer`'s first audio track that sends (publishers only). */
  private publishOn(peer: Peer, sendLogKey?: string): OpusSender | undefined {
    if (!this.place.publisher) return undefined;
    const track = peer.tracks().find((t) => t.kind === 'audio' && (t.direction === 'sendrecv' || t.direction === 'sendonly'));
    if (!track) return undefined;
    this.ctx.sendLog.watch(track, sendLogKey);
    const sender = new OpusSender(track, { logger: this.ctx.log });
    this.ctx.audio.add(sender);
    this.firstSendAt ??= performance.now();
    return sender;
  }

  private detachSfuSender(): void {
    if (!this.sfu.sender) return;
    this.retireSender(this.sfu.sender, this.agent?.id);
    this.sfu.sender = undefined;
  }

  /**
   * Counts one received track. `from` keys the send-time lookup: in a mesh the packet's SSRC
   * is the sender's own, through an SFU it is not, and the publisher's id is used instead.
   */
  private attachReceiver(link: Link, from: string, track: MediaTrack): void {
    if (track.kind !== 'audio') return;
    const viaSfu = this.topology === 'sfu';
    const { sendLog, latency } = this.ctx;
    let key: number | string | undefined = viaSfu ? from : undefined;
    let latencyOf = key === undefined ? undefined : sendLog.lookup(key);
    const drop = this.ctx.params.hooks?.dropReceived;
    const counters: StreamCounters = { arrived: 0, firstAt: 0, lastAt: 0, latencySum: 0, latencyCount: 0 };
    const receiver = new RtpReceiver(track, {
      attach: false,
      logger: this.ctx.log,
      onPacket: (_packet, h) => {
        const now = performance.now();
        if (counters.firstAt === 0) counters.firstAt = now;
        counters.lastAt = now;
        if (!viaSfu && key !== h.ssrc) latencyOf = sendLog.lookup((key = h.ssrc));
        const ms = latencyOf!(h.sequenceNumber, now);
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
    if (link) this.retire(link);
  }

  /** Keeps what a closing link counted (a remote that left mid-run still delivered packets) and drops it. */
  private retire(link: Link): void {
    this.gone.streams.push(...link.streams.map((s) => streamFigures(link.remote.participant.id, s)));
    this.detach(link);
    this.links.delete(link.remote.participant.id);
  }

  /** Stops a sender; what it sent stays in the totals. */
  private retireSender(s: OpusSender, sendLogKey: number | string | undefined): void {
    const sent = sentBy(s);
    this.gone.sentPackets += sent.packets;
    this.gone.sentBytes += sent.bytes;
    this.ctx.audio.delete(s);
    if (sendLogKey !== undefined) this.ctx.sendLog.forget(sendLogKey);
    s.close();
  }

  private detach(link: Link): void {
    for (const s of link.senders) this.retireSender(s, s.ssrc);
    link.senders = [];
  }
}

/** What a sender put on the wire: packets, and bytes with their RTP headers. */
function sentBy(s: OpusSender): { packets: number; bytes: number } {
  const st = s.stats();
  return { packets: st.packetsSent, bytes: st.octetsSent + RTP_HEADER_BYTES * st.packetsSent };
}

function newLink(remote: RemotePeer, initiator: boolean, remotePublishes: boolean): Link {
  return { remote, initiator, remotePublishes, connectAt: undefined, firstPacketAt: undefined, senders: [], streams: [] };
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
