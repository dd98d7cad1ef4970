/**
 * Simulated peers of a WHIP/WHEP run (`loadtest --whip/--whep`), against any server that
 * speaks them: a publisher POSTs a WHIP offer and sends the shared, time-stamped Opus source
 * (and a 640x360 VP8 camera with `--video`); a viewer POSTs a receive-only WHEP offer and
 * counts what arrives, timing each audio packet by the send time it carries
 * (media/opus-stamp.ts), whatever the server did to SSRCs and sequence numbers. Each records
 * its setup in phases: offer ready (ICE gathering), answer (the HTTP POST), connected (ICE and
 * DTLS), first packet (viewers). Never throws: failures are counted by code.
 */
import type { HttpSession, HttpSessionOptions } from '../client/http-session.js';
import { WhepClient } from '../client/whep-client.js';
import { WhipClient } from '../client/whip-client.js';
import { toCallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import { OpusSender } from '../rtc/opus-sender.js';
import { RtpReceiver } from '../rtc/rtp-receiver.js';
import { Vp8SimulcastSender } from '../rtc/vp8-sender.js';
import type { SharedAudio } from './media.js';
import type { WhipLoadParams } from './params.js';
import type { Tester } from './runner.js';
import type { LatencyHistogram, PeerFigures } from './stats.js';
import { countPacket, newCounters, sentBy, streamFigures, type Stream } from './stream-counters.js';
import { VIDEO_FPS, VideoStreamCounter } from './video.js';

export interface HttpTesterContext {
  params: WhipLoadParams;
  /** The shared source (its packets carry their send times). */
  audio: SharedAudio;
  latency: LatencyHistogram;
  log: Logger;
  /** `--video`: the camera's frames per layer, low → high (publishers send the top one). */
  videoLayers?: { data: Buffer }[][];
}

/** What the two kinds share: the session, its setup times and errors. */
abstract class HttpTester<C extends HttpSession> implements Tester {
  protected client: C | undefined;
  protected startAt = 0;
  protected readonly errors: Record<string, number> = {};
  private stopping = false;

  constructor(protected readonly ctx: HttpTesterContext, readonly index: number, protected readonly url: string) {}

  protected abstract make(options: HttpSessionOptions): C;
  /** The session is up: start sending or counting. */
  protected abstract started(client: C): void;
  abstract snapshot(now: number): PeerFigures;

  async start(): Promise<void> {
    const p = this.ctx.params;
    this.startAt = performance.now();
    const client = (this.client = this.make({
      url: this.url,
      headers: p.headers,
      timeoutMs: p.connectTimeoutMs,
      ...(p.token !== undefined && { token: p.token }),
      peer: {
        connectTimeoutMs: p.connectTimeoutMs,
        ...(p.bindAddress !== undefined && { bindAddress: p.bindAddress }),
        ...(p.iceServers !== undefined && { iceServers: p.iceServers }),
      },
    }));
    client.peer.once('closed', (reason) => { if (reason !== 'closed') this.count(`peer-${reason}`); });
    try {
      await client.start();
      this.started(client);
    } catch (err) {
      this.count(toCallpeerError(err, 'CONNECTION_FAILED').code);
      client.peer.close();
    }
  }

  get joined(): boolean {
    return this.client?.setup !== undefined;
  }

  async close(): Promise<void> {
    this.stopping = true;
    await this.client?.stop().catch(() => undefined);
  }

  protected count(kind: string): void {
    if (!this.stopping) this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  /** What both kinds report; each fills in what it sends or receives. */
  protected figures(role: PeerFigures['role'], firstPacketAt: number | undefined): PeerFigures {
    const setup = this.client?.setup;
    return {
      index: this.index,
      id: null,
      room: this.url,
      role,
      joinMs: setup?.answer ?? null,
      peersExpected: 1,
      peersConnected: setup !== undefined && this.client?.peer.closed === false ? 1 : 0,
      tracksExpected: 0,
      tracksReceived: 0,
      links: [{ remote: 'server', initiator: true, remotePublishes: role === 'subscriber', connectMs: setup?.connected ?? null, firstPacketMs: firstPacketAt === undefined ? null : firstPacketAt - this.startAt }],
      streams: [],
      video: { expected: 0, streams: [] },
      sent: { packets: 0, bytes: 0, kbps: 0 },
      rttMs: [],
      errors: { ...this.errors },
      http: { offerMs: setup?.offer ?? null, answerMs: setup?.answer ?? null, iceMs: setup?.ice ?? null, connectedMs: setup?.connected ?? null },
    };
  }
}

export class WhipPublisherTester extends HttpTester<WhipClient> {
  private sender: OpusSender | undefined;
  private camera: Vp8SimulcastSender | undefined;
  private sendingAt: number | undefined;

  protected make(options: HttpSessionOptions): WhipClient {
    return new WhipClient({ ...options, video: this.ctx.params.video });
  }

  protected started(client: WhipClient): void {
    this.sender = new OpusSender(client.audioTrack, { logger: this.ctx.log });
    this.ctx.audio.add(this.sender);
    this.sendingAt = performance.now();
    const layers = this.ctx.videoLayers;
    if (layers && client.videoTrack) this.camera = new Vp8SimulcastSender(client.videoTrack, [layers[layers.length - 1]!], { fps: VIDEO_FPS, logger: this.ctx.log });
  }

  snapshot(now: number): PeerFigures {
    const f = this.figures('publisher', undefined);
    if (this.sender) {
      const sent = sentBy(this.sender);
      const seconds = this.sendingAt === undefined ? 0 : (now - this.sendingAt) / 1000;
      f.sent = { ...sent, kbps: seconds > 0 ? (sent.bytes * 8) / seconds / 1000 : 0 };
      const rtt = this.sender.stats().remote?.rttMs;
      if (rtt !== undefined) f.rttMs.push(rtt);
    }
    return f;
  }

  override async close(): Promise<void> {
    this.camera?.close();
    if (this.sender) {
      this.ctx.audio.delete(this.sender);
      this.sender.close();
    }
    await super.close();
  }
}

export class WhepViewerTester extends HttpTester<WhepClient> {
  private stream: Stream | undefined;
  private camera: VideoStreamCounter | undefined;
  private firstPacketAt: number | undefined;

  protected make(options: HttpSessionOptions): WhepClient {
    const client = new WhepClient({ ...options, video: this.ctx.params.video });
    // Counting starts before the answer: the first packet may follow it at once.
    const counters = newCounters();
    const latency = this.ctx.latency;
    const receiver = new RtpReceiver(client.audioTrack, {
      logger: this.ctx.log,
      onPacket: (packet, h) => {
        this.firstPacketAt ??= performance.now();
        countPacket(counters, latency, packet, h);
      },
    });
    this.stream = Object.assign(counters, { receiver });
    if (client.videoTrack) this.camera = new VideoStreamCounter('server', client.videoTrack, this.ctx.log);
    return client;
  }

  protected started(): void {}

  snapshot(): PeerFigures {
    const f = this.figures('subscriber', this.firstPacketAt);
    f.tracksExpected = 1;
    if (this.stream) {
      const s = streamFigures('server', this.stream);
      f.streams.push(s);
      f.tracksReceived = s.packets > 0 ? 1 : 0;
    }
    f.video = { expected: this.ctx.params.video ? 1 : 0, streams: this.camera ? [this.camera.figures()] : [] };
    return f;
  }

  override async close(): Promise<void> {
    this.stream?.receiver.close();
    this.camera?.close();
    await super.close();
  }
}

/** The peer at `i`: publishers first (a viewer finds media sooner), `{n}` in a URL made the peer's index. */
export function httpTester(ctx: HttpTesterContext, i: number): HttpTester<HttpSession> {
  const { whipUrl, whepUrl, publishers } = ctx.params;
  const at = (url: string, n: number) => url.replaceAll('{n}', String(n));
  return i < publishers ? new WhipPublisherTester(ctx, i, at(whipUrl!, i)) : new WhepViewerTester(ctx, i, at(whepUrl!, i - publishers));
}
