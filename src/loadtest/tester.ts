/**
 * One simulated WebRTC peer: a room member that publishes the shared Opus source
 * (publishers) and listens to everyone, keeping plain counters: when it joined, when each
 * link connected and heard its first packet, RFC 3550 reception stats per stream, what the
 * remotes' receiver reports say (RTT), and errors by kind. It never throws: whatever goes
 * wrong is counted, so one failing peer does not stop the run.
 * The figures are kept per remote participant reached over a connection: in a mesh room one
 * per connection, to that member; in an SFU room one per publisher heard through the one
 * connection, to the server.
 */
import type { AgentLink, RemoteTrack } from '../client/agent-events.js';
import type { AgentOptions } from '../client/agent-options.js';
import { joinRoom, type RoomAgent } from '../client/room-agent.js';
import type { Participant, Topology } from '../protocol/signaling.js';
import { toCallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { MediaTrack } from '../rtc/media-track.js';
import { OpusSender } from '../rtc/opus-sender.js';
import { RtpReceiver } from '../rtc/rtp-receiver.js';
import { Vp8SimulcastSender } from '../rtc/vp8-sender.js';
import type { SharedAudio } from './media.js';
import type { WebRtcLoadParams } from './params.js';
import type { LatencyHistogram, LinkFigures, PeerFigures, StreamFigures, VideoStreamFigures } from './stats.js';
import { countPacket, newCounters, sentBy, streamFigures, type Stream, type StreamCounters } from './stream-counters.js';
import { VIDEO_FPS, VideoStreamCounter } from './video.js';

/** What every tester of a run shares. */
export interface TesterContext {
  wsUrl: string;
  params: WebRtcLoadParams;
  audio: SharedAudio;
  /** Every packet's one-way latency, all peers together. */
  latency: LatencyHistogram;
  log: Logger;
  /** A free local UDP port every SFU connection of the run shares (one socket, one I/O thread). */
  sfuUdpPort?: number;
  /** `--video`: the camera's frames per layer, low → high (loadtest/video.ts). */
  videoLayers?: { data: Buffer }[][];
}

/** Where a tester sits: its room and what that room holds. */
export interface TesterPlace {
  index: number;
  room: string;
  publisher: boolean;
  roomSize: number;
  publishersInRoom: number;
}

/** One connection of the agent: our stream on it and when it came up. */
interface Conn {
  link: AgentLink;
  /** What we publish on it (publishers), and the send log's name for it. */
  sender: OpusSender | undefined;
  connectedAt: number | undefined;
  /** The first offer/answer exchange completed (signaling done). */
  negotiatedAt: number | undefined;
  /** ICE connected, before DTLS (Peer timeIce). */
  iceAt: number | undefined;
  /** `--video` on the server connection: our camera's section and what sends on it. */
  camera: MediaTrack | undefined;
  video: Vp8SimulcastSender | undefined;
  /** The remote participants reached over it, by id. */
  remotes: Map<string, Remote>;
}

/** One remote participant reached over a connection: setup times and what we hear from them. */
interface Remote {
  id: string;
  /** They were in the room when we joined: the setup is ours to time (a mesh newcomer offers to them). */
  initiator: boolean;
  remotePublishes: boolean;
  connectAt: number | undefined;
  firstPacketAt: number | undefined;
  streams: Map<RemoteTrack, Stream>;
}

export class WebRtcTester {
  private agent: RoomAgent | undefined;
  private readonly agentOptions: AgentOptions;
  private readonly conns = new Map<AgentLink, Conn>();
  /** Who was in the room when we joined. */
  private readonly presentAtJoin = new Set<string>();
  private readonly errors: Record<string, number> = {};
  private startAt = 0;
  private joinedAt: number | undefined;
  private firstSendAt: number | undefined;
  /** Counters of streams and senders already closed, so their figures survive them. */
  private readonly gone: { sentPackets: number; sentBytes: number; streams: StreamFigures[]; video: VideoStreamFigures[] } = { sentPackets: 0, sentBytes: 0, streams: [], video: [] };
  private meshVideoCounted = false;
  /** Cameras we receive, by track. */
  private readonly cameras = new Map<MediaTrack, VideoStreamCounter>();
  private stopping = false;

  constructor(private readonly ctx: TesterContext, readonly place: TesterPlace) {
    const p = ctx.params;
    this.agentOptions = {
      wsUrl: ctx.wsUrl,
      room: place.room,
      name: `loadtest-${place.index}`,
      audio: place.publisher,
      video: place.publisher && p.video,
      ...(p.token !== undefined && { token: p.token }),
      log: ctx.log,
      peer: {
        connectTimeoutMs: p.connectTimeoutMs,
        // The setup's phases: ICE apart from DTLS.
        timeIce: true,
        ...(p.video && { capabilities: { receiveVideo: true, videoCodecs: ['VP8'] } }),
        ...(p.bindAddress !== undefined && { bindAddress: p.bindAddress }),
        ...(p.iceServers !== undefined && { iceServers: p.iceServers }),
        ...(p.iceTransportPolicy !== undefined && { iceTransportPolicy: p.iceTransportPolicy }),
      },
      // One socket for all: libjuice polls every socket of the process on each wakeup, and a
      // generator with hundreds of connections spent a quarter of its core in that poll.
      ...(ctx.sfuUdpPort !== undefined && { sfuPeer: { enableIceUdpMux: true, portRangeBegin: ctx.sfuUdpPort, portRangeEnd: ctx.sfuUdpPort } }),
      // A dropped socket is an error of the run, not something to paper over with a re-join.
      signaling: { reconnect: false, insecure: p.insecure },
    };
  }

  private wire(a: RoomAgent): void {
    a.on('joined', (joined) => { for (const p of joined.participants) this.presentAtJoin.add(p.id); });
    a.on('link-opened', (link) => {
      const conn: Conn = { link, sender: undefined, connectedAt: undefined, negotiatedAt: undefined, iceAt: undefined, camera: undefined, video: undefined, remotes: new Map() };
      this.conns.set(link, conn);
      // Our camera goes in the connection's first offer: a section added later can race the
      // sections the server adds for us (both sides pick the next free mid).
      if (this.ctx.videoLayers && this.place.publisher && !link.participant) conn.camera = link.peer.addVideoSender(undefined, { layers: this.ctx.videoLayers.length });
      // A connection to a member: timed from now, whether they publish or not.
      if (link.participant) this.remoteOf(conn, link.participant, link.participant.audio);
    });
    a.on('link-connected', (link) => {
      const conn = this.conns.get(link);
      if (!conn) return;
      conn.connectedAt ??= performance.now();
      conn.iceAt ??= Math.min(conn.connectedAt, link.peer.iceConnectedAt ?? conn.connectedAt);
      for (const r of conn.remotes.values()) r.connectAt ??= conn.connectedAt;
    });
    a.on('link-negotiated', (link) => {
      const conn = this.conns.get(link);
      if (conn) conn.negotiatedAt ??= performance.now();
      if (conn && !conn.sender) this.publishOn(conn);
      if (conn) this.publishVideoOn(conn);
    });
    a.on('track-added', (t) => {
      const conn = this.conns.get(t.link);
      if (!conn) return;
      if (t.kind === 'video') this.cameras.set(t.track, new VideoStreamCounter(t.participant.id, t.track, this.ctx.log));
      else this.attachReceiver(this.remoteOf(conn, t.participant, true), t);
    });
    a.on('track-removed', (t) => {
      const camera = this.cameras.get(t.track);
      if (camera) {
        this.cameras.delete(t.track);
        this.gone.video.push(camera.figures());
        camera.close();
        t.track.onRtp = undefined;
        return;
      }
      const streams = this.conns.get(t.link)?.remotes.get(t.participant.id)?.streams;
      const stream = streams?.get(t);
      if (!stream) return;
      streams!.delete(t);
      this.retireStream(t.participant.id, stream);
      t.track.onRtp = undefined; // an SFU keeps the track, idle
    });
    a.on('link-closed', (link, reason) => {
      if (reason !== 'closed') this.count(`peer-${reason}`);
      const conn = this.conns.get(link);
      if (conn) this.retire(conn);
    });
    a.on('disconnected', () => this.count('signaling-lost'));
  }

  /** Joins; resolves either way (a refusal is counted under its code, e.g. ROOM_FULL). */
  async start(): Promise<void> {
    this.startAt = performance.now();
    try {
      await joinRoom(this.agentOptions, (a) => {
        this.agent = a;
        this.wire(a);
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
    return this.agent?.topology;
  }

  /** Plain counters as of `now` (performance.now()). */
  snapshot(now: number): PeerFigures {
    const { place } = this;
    const conns = [...this.conns.values()];
    const remotes = conns.flatMap((c) => [...c.remotes.values()]);
    const rel = (t: number | undefined) => (t === undefined ? null : t - this.startAt);
    const linkFigures: LinkFigures[] = conns.flatMap((c) => [...c.remotes.values()].map((r) => ({
      remote: r.id, initiator: r.initiator, remotePublishes: r.remotePublishes,
      negotiatedMs: rel(c.negotiatedAt), iceMs: rel(c.iceAt), connectMs: rel(r.connectAt), firstPacketMs: rel(r.firstPacketAt),
    })));
    const streams = [...this.gone.streams, ...remotes.flatMap((r) => [...r.streams.values()].map((s) => streamFigures(r.id, s)))];
    let sentPackets = this.gone.sentPackets;
    let sentBytes = this.gone.sentBytes;
    const rttMs: number[] = [];
    for (const { sender: s } of conns) {
      if (!s) continue;
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
      peersExpected: this.topology === 'sfu' ? 1 : place.roomSize - 1,
      peersConnected: conns.filter((c) => c.connectedAt !== undefined).length,
      tracksExpected: place.publishersInRoom - (place.publisher ? 1 : 0),
      tracksReceived: heard.size,
      links: linkFigures,
      streams,
      video: {
        expected: this.ctx.params.video ? place.publishersInRoom - (place.publisher ? 1 : 0) : 0,
        streams: [...this.gone.video, ...[...this.cameras.values()].map((c) => c.figures())],
      },
      sent: { packets: sentPackets, bytes: sentBytes, kbps: sendSeconds > 0 ? (sentBytes * 8) / sendSeconds / 1000 : 0 },
      rttMs,
      errors: { ...this.errors },
    };
  }

  /** Leaves the room; what closes from here on is not an error. */
  async close(): Promise<void> {
    this.stopping = true;
    for (const c of this.conns.values()) this.retireSender(c);
    await this.agent?.close().catch(() => undefined);
  }

  private count(kind: string): void {
    if (!this.stopping) this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  /** The figures of `participant` on `conn`, made at the first sign of them. */
  private remoteOf(conn: Conn, participant: Participant, publishes: boolean): Remote {
    let r = conn.remotes.get(participant.id);
    if (!r) {
      r = {
        id: participant.id, initiator: this.presentAtJoin.has(participant.id), remotePublishes: publishes,
        connectAt: conn.connectedAt, firstPacketAt: undefined, streams: new Map(),
      };
      conn.remotes.set(participant.id, r);
    }
    return r;
  }

  /** Starts the shared source on the connection's first audio track that sends (publishers only). */
  private publishOn(conn: Conn): void {
    if (!this.place.publisher) return;
    const track = conn.link.peer.tracks().find((t) => t.kind === 'audio' && (t.direction === 'sendrecv' || t.direction === 'sendonly'));
    if (!track) return;
    conn.sender = new OpusSender(track, { logger: this.ctx.log });
    this.ctx.audio.add(conn.sender);
    this.firstSendAt ??= performance.now();
  }

  /** `--video`: once the connection to an SFU is negotiated, sends the three layers on our camera. Mesh rooms send no video here. */
  private publishVideoOn(conn: Conn): void {
    const layers = this.ctx.videoLayers;
    if (!layers || !this.place.publisher || conn.video) return;
    if (conn.link.participant) {
      // A mesh link: no simulcast camera to send peer to peer (docs/loadtest.md); counted once.
      if (!this.meshVideoCounted) this.count('video-needs-sfu');
      this.meshVideoCounted = true;
      return;
    }
    if (conn.camera) conn.video = new Vp8SimulcastSender(conn.camera, layers, { fps: VIDEO_FPS, logger: this.ctx.log });
  }

  /** Counts one received track; each packet is timed by the send time it carries. */
  private attachReceiver(remote: Remote, t: RemoteTrack): void {
    const { track } = t;
    if (track.kind !== 'audio') return;
    const latency = this.ctx.latency;
    const drop = this.ctx.params.hooks?.dropReceived;
    const counters: StreamCounters = newCounters();
    const receiver = new RtpReceiver(track, {
      attach: false,
      logger: this.ctx.log,
      onPacket: (packet, h) => countPacket(counters, latency, packet, h),
    });
    const stream: Stream = Object.assign(counters, { receiver });
    track.onRtp = (packet) => {
      stream.arrived++;
      if (drop?.(stream.arrived)) return;
      remote.firstPacketAt ??= performance.now();
      stream.receiver.handleRtp(packet);
    };
    remote.streams.set(t, stream);
  }

  /** Keeps what a stream counted (a remote that left mid-run still delivered packets) and stops it. */
  private retireStream(from: string, stream: Stream): void {
    this.gone.streams.push(streamFigures(from, stream));
    stream.receiver.close();
  }

  /** Keeps what a closing connection counted and drops it. */
  private retire(conn: Conn): void {
    for (const r of conn.remotes.values()) for (const s of r.streams.values()) this.retireStream(r.id, s);
    this.retireSender(conn);
    this.conns.delete(conn.link);
  }

  /** Stops the connection's senders; what they sent stays in the totals. */
  private retireSender(conn: Conn): void {
    // The video line reports what cameras received; `sent` stays the audio's, like `received`.
    conn.video?.close();
    conn.video = undefined;
    const s = conn.sender;
    if (!s) return;
    conn.sender = undefined;
    const sent = sentBy(s);
    this.gone.sentPackets += sent.packets;
    this.gone.sentBytes += sent.bytes;
    this.ctx.audio.delete(s);
    s.close();
  }
}
