import { EventEmitter } from 'node:events';
import type { AgentOptions } from '../client/agent-options.js';
import type { AgentLink, RemoteTrack } from '../client/agent-events.js';
import { joinRoom, type RoomAgent } from '../client/room-agent.js';
import { CallpeerError, toCallpeerError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { JoinedMessage, Participant, RemovedByServer } from '../protocol/signaling.js';
import { tsDiff } from '../media/rtp.js';
import { OpusSender, OPUS_FRAME_TICKS, worstFractionLost } from '../rtc/opus-sender.js';
import type { OpusSource } from '../media/opus-sources.js';
import { Pacer } from '../time/pacer.js';
import { RtpReceiver, type RtpReceiverOptions } from '../rtc/rtp-receiver.js';

export interface BotOptions extends Omit<AgentOptions, 'role' | 'log'> {
  /** Audio published to everyone (a tone, a file…); none = a silent listener. */
  source?: OpusSource;
  /**
   * Send each participant its own audio back, without re-encoding. In an SFU room the bot has
   * one outgoing track, which the server forwards to everyone: every member hears the echo,
   * of one publisher at a time (the one speaking; another takes over after 0.5 s of silence).
   */
  echo?: boolean;
  /** Hands over every Opus payload heard, with who said it and its RTP sequence number (a listener such as the bridge decodes and mixes them). */
  listen?: (from: string, seq: number, payload: Buffer) => void;
  log?: Logger;
}

/** What we hear from one participant. */
export interface BotReceivedStats {
  packets: number;
  lost: number;
  lossPercent: number;
  jitterMs: number;
}

/**
 * Per-connection figures: what we hear on it, and what the other end reports hearing from us.
 * In a mesh room there is one entry per participant; in an SFU room one, for the server
 * (`id` and `name` "server"), with `heard` breaking `received` down per publisher.
 */
export interface BotPeerStats {
  id: string;
  name: string;
  connected: boolean;
  /** Their audio at our end. */
  received: BotReceivedStats;
  /**
   * Our audio at their end (in an SFU room: at the server), from their receiver reports: loss
   * over the whole session (cumulative lost / sent) and in their last report interval.
   */
  sent: { packets: number; lossPercent: number | undefined; recentLossPercent: number | undefined; jitterMs: number | undefined; rttMs: number | undefined };
  /** SFU rooms: each publisher's stream as forwarded to us. */
  heard?: { id: string; name: string; received: BotReceivedStats }[];
}

export interface BotEvents {
  joined: [JoinedMessage];
  'participant-joined': [Participant];
  'participant-left': [Participant];
  /** The source played to its end (not emitted for endless or looping sources). */
  ended: [];
  disconnected: [{ code: number; reason: string }];
  /** Kicked, or the room was deleted: the bot closes (closed follows) and does not re-join. */
  removed: [RemovedByServer];
  closed: [];
}

/** One connection: to a participant (mesh), or to the server (SFU, `participant` undefined). */
interface Link {
  agentLink: AgentLink;
  senders: Map<string, OpusSender>;
  /** What we hear on it by mid, and from whom (a mesh participant, or an SFU publisher). */
  receivers: Map<string, { from: string; receiver: RtpReceiver }>;
  /** Echo: the track (mid) whose audio goes back, the RTP timestamp of the last packet echoed (to carry their gaps over) and when. */
  echo: { mid: string | undefined; lastTs: number; lastAt: number };
}

/** In an SFU room one track carries the echo: the publisher echoed keeps it until this long silent. */
const ECHO_FLOOR_MS = 500;

/**
 * A bot in a call: joins a room as role `bot` and talks to every participant (mesh) or
 * through the server (SFU: one track out, the server fans it out). One pacer drives every
 * sender, so a source is encoded once per 20 ms whatever the room's size.
 * Usable as a library: `new Bot({ wsUrl, room, source: new ToneSource(440) }).start()`.
 */
export class Bot extends EventEmitter<BotEvents> {
  private roomAgent: RoomAgent | undefined;
  private readonly links = new Map<AgentLink, Link>();
  private readonly pacer: Pacer | undefined;
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly options: BotOptions) {
    super();
    this.log = options.log ?? silentLogger();
    this.pacer = options.source ? new Pacer((index, skipped) => this.tick(index, skipped)) : undefined;
  }

  /** The room member underneath (a MeshAgent or an SfuAgent, as the room is); throws NOT_IN_ROOM before start(). */
  get agent(): RoomAgent {
    if (!this.roomAgent) throw new CallpeerError('NOT_IN_ROOM', 'the bot has not joined yet', { hint: 'await bot.start() first' });
    return this.roomAgent;
  }

  /** Joins (either topology); rejects with the server's code (ROOM_FULL, …) or CONNECTION_FAILED. */
  async start(): Promise<JoinedMessage> {
    const { agent, joined } = await joinRoom(
      { ...this.options, role: 'bot', name: this.options.name ?? 'callpeer bot', audio: this.options.source !== undefined || this.options.echo === true, log: this.log },
      (a) => this.wire(a),
    );
    this.roomAgent = agent;
    if (this.closed) {
      await agent.close();
      throw new CallpeerError('CLOSED', 'the bot was closed while joining');
    }
    this.pacer?.start();
    return joined;
  }

  stats(): BotPeerStats[] {
    return [...this.links.values()].map((link) => {
      const tx = [...link.senders.values()].map((s) => s.stats());
      const report = tx.find((s) => s.remote)?.remote;
      const sentPackets = tx.reduce((n, s) => n + s.packetsSent, 0);
      const receivers = [...link.receivers.values()];
      const { participant, peer } = link.agentLink;
      const stats: BotPeerStats = {
        id: participant?.id ?? 'server',
        name: participant?.name ?? 'server',
        connected: peer.connected,
        received: received(receivers.map((r) => r.receiver)),
        sent: {
          packets: sentPackets,
          lossPercent: report ? (100 * Math.max(0, report.cumulativeLost)) / Math.max(1, sentPackets) : undefined,
          recentLossPercent: report ? report.fractionLost * 100 : undefined,
          jitterMs: report?.jitterMs,
          rttMs: report?.rttMs,
        },
      };
      if (!participant) {
        const names = new Map(this.roomAgent?.roomParticipants().map((p) => [p.id, p.name]));
        stats.heard = receivers.map(({ from, receiver }) => ({ id: from, name: names.get(from) ?? from, received: received([receiver]) }));
      }
      return stats;
    });
  }

  /** Leaves the room and stops everything. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pacer?.stop();
    await this.roomAgent?.close();
    this.emit('closed');
  }

  /** Listens to the agent before it connects: its connections become links. */
  private wire(a: RoomAgent): void {
    a.on('joined', (j) => {
      // The room's --audio-bitrate: what the server lets members send (an SFU room enforces it).
      const kbps = j.room.media?.audioBitrateKbps;
      if (kbps !== undefined) this.options.source?.capBitrate?.(kbps * 1000);
      this.emit('joined', j);
    });
    a.on('participant-joined', (p) => this.emit('participant-joined', p));
    a.on('participant-left', (p) => this.emit('participant-left', p));
    a.on('disconnected', (d) => this.emit('disconnected', d));
    a.on('removed', (r) => this.emit('removed', r));
    a.on('closed', () => { void this.close(); });
    a.on('link-opened', (l) => {
      this.links.set(l, { agentLink: l, senders: new Map(), receivers: new Map(), echo: { mid: undefined, lastTs: 0, lastAt: 0 } });
    });
    a.on('link-negotiated', (l) => this.attachSenders(l));
    a.on('track-added', (t) => this.attachReceiver(t));
    a.on('track-removed', (t) => {
      const receivers = this.links.get(t.link)?.receivers;
      receivers?.get(t.track.mid)?.receiver.close();
      receivers?.delete(t.track.mid);
    });
    a.on('link-closed', (l) => {
      const link = this.links.get(l);
      if (!link) return;
      this.links.delete(l);
      for (const s of link.senders.values()) s.close();
      for (const r of link.receivers.values()) r.receiver.close();
    });
  }

  private tick(index: number, skipped: number): void {
    const source = this.options.source!;
    let frame: Buffer | undefined;
    try {
      frame = source.nextFrame(index);
    } catch (err) {
      this.log.error({ err: toCallpeerError(err) }, 'audio source failed; stopping playback');
      this.pacer?.stop();
      return;
    }
    if (!frame && source.ended) {
      this.pacer?.stop();
      this.emit('ended');
      return;
    }
    for (const link of this.links.values()) {
      for (const sender of link.senders.values()) {
        if (skipped > 0) sender.skipFrames(skipped);
        if (frame) sender.sendFrame(frame);
        else sender.skipFrames(1); // silence (DTX): the next packet starts a talk spurt
      }
    }
  }

  /** After each negotiation: a sender on every audio track we send on (mesh: one per peer; SFU: our one track). */
  private attachSenders(l: AgentLink): void {
    const link = this.links.get(l);
    if (!link || (!this.options.source && !this.options.echo)) return;
    for (const track of l.peer.tracks()) {
      if (track.kind !== 'audio' || link.senders.has(track.mid) || !(track.direction === 'sendrecv' || track.direction === 'sendonly')) continue;
      const sender = new OpusSender(track, { logger: this.log });
      // One encoding goes out on every link: its FEC protects for the worst one.
      sender.on('report', () => this.options.source?.reportLoss?.(worstFractionLost([...this.links.values()].flatMap((k) => [...k.senders.values()]))));
      link.senders.set(track.mid, sender);
    }
  }

  private attachReceiver({ link: l, participant, track }: RemoteTrack): void {
    const link = this.links.get(l);
    if (!link || track.kind !== 'audio' || link.receivers.has(track.mid)) return;
    const { echo, listen } = this.options;
    const onPacket: RtpReceiverOptions['onPacket'] = echo
      ? (packet, h) => this.echoPacket(link, track.mid, packet.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength), h.timestamp)
      : listen && ((packet, h) => { if (h.payloadLength > 0) listen(participant.id, h.sequenceNumber, packet.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)); });
    link.receivers.set(track.mid, { from: participant.id, receiver: new RtpReceiver(track, { logger: this.log, onPacket }) });
  }

  /** Sends the Opus packet heard on track `mid` back on our track of this link, keeping their pauses. */
  private echoPacket(link: Link, mid: string, payload: Buffer, timestamp: number): void {
    const sender = link.senders.values().next().value as OpusSender | undefined;
    if (!sender || payload.length === 0) return;
    const now = performance.now();
    const state = link.echo;
    if (state.mid === mid) {
      const gapFrames = Math.round(tsDiff(timestamp, state.lastTs) / OPUS_FRAME_TICKS) - 1;
      if (gapFrames < 0) return; // late or duplicate: already played
      if (gapFrames > 0) sender.skipFrames(Math.min(gapFrames, 50 * 60));
    } else if (state.mid !== undefined) {
      // SFU: another track's audio is on our one track; this one waits until that one falls silent.
      if (now - state.lastAt < ECHO_FLOOR_MS) return;
      // Our track's clock keeps running through the handover.
      const gapFrames = Math.round((now - state.lastAt) / 20) - 1;
      if (gapFrames > 0) sender.skipFrames(Math.min(gapFrames, 50 * 60));
    }
    state.mid = mid;
    state.lastTs = timestamp;
    state.lastAt = now;
    sender.sendFrame(payload); // copied synchronously by the send path
  }
}

/** Loss and jitter over some receivers (all the sources each heard). */
function received(receivers: RtpReceiver[]): BotReceivedStats {
  const rx = receivers.flatMap((r) => r.stats());
  const packets = rx.reduce((n, s) => n + s.received, 0);
  const expected = rx.reduce((n, s) => n + s.expected, 0);
  const lost = rx.reduce((n, s) => n + Math.max(0, s.cumulativeLost), 0);
  return { packets, lost, lossPercent: expected > 0 ? (100 * lost) / expected : 0, jitterMs: rx.length ? Math.max(...rx.map((s) => s.jitterMs)) : 0 };
}
