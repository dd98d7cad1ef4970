import { EventEmitter } from 'node:events';
import { MeshAgent, type MeshAgentOptions, type RemotePeer } from '../client/mesh-agent.js';
import { toCallpeerError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { JoinedMessage, Participant } from '../protocol/signaling.js';
import { tsDiff } from '../media/rtp.js';
import type { MediaTrack } from '../rtc/media-track.js';
import { OpusSender, OPUS_FRAME_TICKS, type OpusSource } from '../rtc/opus-sender.js';
import { Pacer } from '../rtc/pacer.js';
import { RtpReceiver } from '../rtc/rtp-receiver.js';

export interface BotOptions extends Omit<MeshAgentOptions, 'role' | 'log'> {
  /** Audio published to everyone (a tone, a file…); none = a silent listener. */
  source?: OpusSource;
  /** Send each participant its own audio back, without re-encoding. */
  echo?: boolean;
  log?: Logger;
}

/** Per-participant figures: what we hear from them, and what they report hearing from us. */
export interface BotPeerStats {
  id: string;
  name: string;
  connected: boolean;
  /** Their audio at our end. */
  received: { packets: number; lost: number; lossPercent: number; jitterMs: number };
  /**
   * Our audio at their end, from their receiver reports: loss over the whole session
   * (cumulative lost / sent) and in their last report interval.
   */
  sent: { packets: number; lossPercent: number | undefined; recentLossPercent: number | undefined; jitterMs: number | undefined; rttMs: number | undefined };
}

export interface BotEvents {
  joined: [JoinedMessage];
  'participant-joined': [Participant];
  'participant-left': [Participant];
  /** The source played to its end (not emitted for endless or looping sources). */
  ended: [];
  disconnected: [{ code: number; reason: string }];
  closed: [];
}

interface Link {
  remote: RemotePeer;
  senders: Map<string, OpusSender>;
  receivers: Map<string, RtpReceiver>;
  /** Echo: the RTP timestamp of the last packet echoed, to carry their gaps over. */
  lastEchoTs: number | undefined;
}

/**
 * A bot in a call: joins a room as role `bot` and talks to every participant. One pacer
 * drives every sender, so a source is encoded once per 20 ms whatever the room's size.
 * Usable as a library: `new Bot({ wsUrl, room, source: new ToneSource(440) }).start()`.
 */
export class Bot extends EventEmitter<BotEvents> {
  readonly agent: MeshAgent;
  private readonly links = new Map<string, Link>();
  private readonly pacer: Pacer | undefined;
  private readonly log: Logger;
  private closed = false;

  constructor(private readonly options: BotOptions) {
    super();
    this.log = options.log ?? silentLogger();
    this.agent = new MeshAgent({ ...options, role: 'bot', name: options.name ?? 'callpeer bot', audio: options.source !== undefined || options.echo === true, log: this.log });
    this.pacer = options.source ? new Pacer((index, skipped) => this.tick(index, skipped)) : undefined;
    const a = this.agent;
    a.on('joined', (j) => this.emit('joined', j));
    a.on('participant-joined', (p) => this.emit('participant-joined', p));
    a.on('participant-left', (p) => this.emit('participant-left', p));
    a.on('disconnected', (d) => this.emit('disconnected', d));
    a.on('peer', (remote) => this.links.set(remote.participant.id, { remote, senders: new Map(), receivers: new Map(), lastEchoTs: undefined }));
    a.on('negotiated', (remote) => this.attachSenders(remote));
    a.on('track', (remote, track) => this.attachReceiver(remote, track));
    a.on('peer-closed', (remote) => {
      const link = this.links.get(remote.participant.id);
      if (link?.remote !== remote) return;
      this.links.delete(remote.participant.id);
      for (const s of link.senders.values()) s.close();
      for (const r of link.receivers.values()) r.close();
    });
    a.on('closed', () => { void this.close(); });
  }

  async start(): Promise<JoinedMessage> {
    const joined = await this.agent.start();
    this.pacer?.start();
    return joined;
  }

  stats(): BotPeerStats[] {
    return [...this.links.values()].map(({ remote, senders, receivers }) => {
      const rx = [...receivers.values()].flatMap((r) => r.stats());
      const packets = rx.reduce((n, s) => n + s.received, 0);
      const expected = rx.reduce((n, s) => n + s.expected, 0);
      const lost = rx.reduce((n, s) => n + Math.max(0, s.cumulativeLost), 0);
      const tx = [...senders.values()].map((s) => s.stats());
      const report = tx.find((s) => s.remote)?.remote;
      const sentPackets = tx.reduce((n, s) => n + s.packetsSent, 0);
      return {
        id: remote.participant.id,
        name: remote.participant.name,
        connected: remote.peer.connected,
        received: { packets, lost, lossPercent: expected > 0 ? (100 * lost) / expected : 0, jitterMs: rx.length ? Math.max(...rx.map((s) => s.jitterMs)) : 0 },
        sent: {
          packets: sentPackets,
          lossPercent: report ? (100 * Math.max(0, report.cumulativeLost)) / Math.max(1, sentPackets) : undefined,
          recentLossPercent: report ? report.fractionLost * 100 : undefined,
          jitterMs: report?.jitterMs,
          rttMs: report?.rttMs,
        },
      };
    });
  }

  /** Leaves the room and stops everything. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pacer?.stop();
    await this.agent.close();
    this.emit('closed');
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

  private attachSenders(remote: RemotePeer): void {
    const link = this.links.get(remote.participant.id);
    if (!link || (!this.options.source && !this.options.echo)) return;
    for (const track of remote.peer.tracks()) {
      if (track.kind !== 'audio' || link.senders.has(track.mid) || !(track.direction === 'sendrecv' || track.direction === 'sendonly')) continue;
      link.senders.set(track.mid, new OpusSender(track, { logger: this.log }));
    }
  }

  private attachReceiver(remote: RemotePeer, track: MediaTrack): void {
    const link = this.links.get(remote.participant.id);
    if (!link || track.kind !== 'audio' || link.receivers.has(track.mid)) return;
    const echo = this.options.echo === true;
    link.receivers.set(track.mid, new RtpReceiver(track, {
      logger: this.log,
      onPacket: echo ? (packet, h) => this.echoPacket(link, packet.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength), h.timestamp) : undefined,
    }));
  }

  /** Sends their own Opus packet back on our track to them, keeping their pauses. */
  private echoPacket(link: Link, payload: Buffer, timestamp: number): void {
    const sender = link.senders.values().next().value as OpusSender | undefined;
    if (!sender || payload.length === 0) return;
    if (link.lastEchoTs !== undefined) {
      const gapFrames = Math.round(tsDiff(timestamp, link.lastEchoTs) / OPUS_FRAME_TICKS) - 1;
      if (gapFrames < 0) return; // late or duplicate: already played
      if (gapFrames > 0) sender.skipFrames(Math.min(gapFrames, 50 * 60));
    }
    link.lastEchoTs = timestamp;
    sender.sendFrame(payload); // copied synchronously by the send path
  }
}
