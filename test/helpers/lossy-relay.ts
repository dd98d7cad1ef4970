/**
 * A bad network for one Node WebRTC member, in userspace (the test namespace has no netem):
 * its signaling goes through a WebSocket proxy that points each side's ICE candidates at a UDP
 * relay, so every packet between the member and the server crosses the relay, which drops and
 * delays some of the member's RTP. Only RTP from the member is touched (STUN, DTLS and RTCP
 * pass), so the connection comes up as usual and only the media suffers.
 *
 *   const relay = await LossyRelay.start(ctx.server.wsUrl, { loss: 0.05, delay: 0.05, seed: 1 });
 *   const member = await sfuMember(relay.wsUrl, 'room', 'lossy', 440);
 *   ...
 *   relay.stats  // { rtp, dropped, delayed }
 *   await relay.close();
 *
 * One connection per side: the member must have a single ICE host candidate (one PC, one
 * address) and so must the server's end of it; a second one throws.
 *
 * A browser page as the member (`route(page)`, before it opens its WebSocket): its signaling
 * goes through Playwright instead of the proxy, and "the server" is whoever it negotiates with:
 * in a mesh room of two, the other page, so the page's RTP toward that page is what suffers.
 * `setLoss(0)` heals the link while the call goes on.
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import WebSocket, { WebSocketServer } from 'ws';
import { bindLoopbackUdp } from './udp.js';

export interface LossyRelayOptions {
  /** Share of the member's RTP packets dropped, 0..1. Default 0.05. */
  loss?: number;
  /** Share of the member's RTP packets held back by `delayMs` (arriving after later ones), 0..1. Default 0.05. */
  delay?: number;
  /** How long a delayed packet is held, ms: [min, max]. Default [30, 50]. */
  delayMs?: [number, number];
  /** Seed of the PRNG choosing the packets, so a run can be repeated. Default 1. */
  seed?: number;
}

export interface LossyRelayStats {
  /** RTP packets from the member. */
  rtp: number;
  dropped: number;
  delayed: number;
  /**
   * Audio the member itself never sent, ms: RTP timestamps that jump by more than a 20 ms
   * frame between consecutive sequence numbers (its pacer skipped frames after a stall of the
   * process, which a loaded machine causes). No receiver can play audio that was never sent.
   */
  senderSkippedMs: number;
  /** Packets forwarded in either direction (all kinds). */
  forwarded: number;
}

interface Endpoint { address: string; port: number }

/** mulberry32: small, seeded, good enough to pick packets. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** RTP, not RTCP (RFC 5761: RTCP packet types 192..223 sit where M+PT would), nor STUN or DTLS (RFC 7983: first byte 128..191). */
function isRtp(packet: Buffer): boolean {
  return packet.length >= 12 && packet[0]! >= 128 && packet[0]! <= 191 && !(packet[1]! >= 192 && packet[1]! <= 223);
}

const CANDIDATE = /(candidate:\S+ \d+ udp \d+ )(\S+) (\d+)( typ \w+)/gi;

export class LossyRelay {
  readonly stats: LossyRelayStats = { rtp: 0, dropped: 0, delayed: 0, senderSkippedMs: 0, forwarded: 0 };
  private last: { seq: number; timestamp: number } | undefined;
  /** The member's signaling URL (the server's, through the proxy). */
  readonly wsUrl: string;
  private member: Endpoint | undefined;
  private server: Endpoint | undefined;
  private readonly random: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private loss: number;
  private delay: number;
  private readonly delayMs: [number, number];

  private constructor(
    /** Faces the server: the member's candidate, as the server is told it. */
    private readonly toServer: dgram.Socket,
    /** Faces the member: the server's candidate, as the member is told it. */
    private readonly toMember: dgram.Socket,
    private readonly proxy: WebSocketServer,
    private readonly upstreamUrl: string,
    options: LossyRelayOptions,
  ) {
    this.loss = options.loss ?? 0.05;
    this.delay = options.delay ?? 0.05;
    this.delayMs = options.delayMs ?? [30, 50];
    this.random = prng(options.seed ?? 1);
    const path = new URL(upstreamUrl).pathname;
    this.wsUrl = `ws://127.0.0.1:${(proxy.address() as AddressInfo).port}${path}`;
    toMember.on('message', (packet) => this.fromMember(packet));
    toServer.on('message', (packet) => {
      if (this.member) this.send(this.toMember, packet, this.member);
    });
    proxy.on('connection', (client, req) => this.bridge(client, req.url ?? '/'));
  }

  /** A relay in front of the server whose signaling is at `serverWsUrl`. */
  static async start(serverWsUrl: string, options: LossyRelayOptions = {}): Promise<LossyRelay> {
    const [toServer, toMember] = [await bindLoopbackUdp(), await bindLoopbackUdp()];
    const proxy = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => proxy.once('listening', () => resolve()));
    return new LossyRelay(toServer, toMember, proxy, serverWsUrl, options);
  }

  /** The share of the member's RTP dropped (and held back) from now on, 0..1. */
  setLoss(loss: number, delay = this.delay): void {
    this.loss = loss;
    this.delay = delay;
  }

  /**
   * Routes a browser page's signaling through the relay (the page is the member). Candidates
   * other than IPv4 UDP of the first m-section are dropped both ways (Chromium also offers TCP,
   * and ::1 where it has it), so the one pair left crosses the relay.
   */
  async route(page: Page): Promise<void> {
    await page.routeWebSocket(/\/ws/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => { const out = this.rewrite(String(m), 'member', true); if (out !== undefined) server.send(out); });
      server.onMessage((m) => { const out = this.rewrite(String(m), 'server', true); if (out !== undefined) ws.send(out); });
    });
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const client of this.proxy.clients) client.terminate();
    await new Promise<void>((resolve) => this.proxy.close(() => resolve()));
    this.toServer.close();
    this.toMember.close();
  }

  private fromMember(packet: Buffer): void {
    const server = this.server;
    if (!server) return;
    if (isRtp(packet)) {
      this.stats.rtp++;
      this.watchTimestamps(packet);
      const r = this.random();
      if (r < this.loss) {
        this.stats.dropped++;
        return;
      }
      if (r < this.loss + this.delay) {
        this.stats.delayed++;
        const [min, max] = this.delayMs;
        const copy = Buffer.from(packet);
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.send(this.toServer, copy, server);
        }, min + this.random() * (max - min));
        this.timers.add(timer);
        return;
      }
    }
    this.send(this.toServer, packet, server);
  }

  /** RTP header fields are in the clear in SRTP (RFC 3711): 48 kHz Opus, 960 ticks a frame. */
  private watchTimestamps(packet: Buffer): void {
    const seq = packet.readUInt16BE(2);
    const timestamp = packet.readUInt32BE(4);
    const last = this.last;
    if (last && seq === ((last.seq + 1) & 0xffff)) {
      const ticks = (timestamp - last.timestamp) | 0;
      if (ticks > 960) this.stats.senderSkippedMs += (ticks - 960) / 48;
    }
    this.last = { seq, timestamp };
  }

  private send(socket: dgram.Socket, packet: Buffer, to: Endpoint): void {
    this.stats.forwarded++;
    socket.send(packet, to.port, to.address);
  }

  /** One signaling connection: relayed to the server, candidates rewritten both ways. */
  private bridge(client: WebSocket, url: string): void {
    const upstream = new WebSocket(new URL(url, this.upstreamUrl).href);
    const pending: string[] = [];
    upstream.on('open', () => { for (const m of pending.splice(0)) upstream.send(m); });
    client.on('message', (data) => {
      const m = this.rewrite(String(data), 'member')!;
      if (upstream.readyState === WebSocket.OPEN) upstream.send(m);
      else pending.push(m);
    });
    upstream.on('message', (data) => {
      if (client.readyState === WebSocket.OPEN) client.send(this.rewrite(String(data), 'server')!);
    });
    const end = () => { client.close(); upstream.close(); };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  }

  /**
   * A signaling message from `side`, its candidates (in `sdp` or `candidate`) pointed at the
   * relay. With `ipv4UdpOnly`, other candidates are dropped (undefined: the message was one).
   */
  private rewrite(text: string, side: 'member' | 'server', ipv4UdpOnly = false): string | undefined {
    const message = JSON.parse(text) as Record<string, unknown>;
    let changed = false;
    if (ipv4UdpOnly) {
      // One pair: an IPv4 UDP candidate of the first m-section (the BUNDLE transport; an
      // offerer gathers for each section until the answer bundles them).
      const other = (line: string): boolean => !/^(a=)?candidate:\S+ \d+ udp \d+ \d+\.\d+\.\d+\.\d+ /i.test(line);
      if (typeof message.candidate === 'string' && (other(message.candidate) || (message.mid ?? '0') !== '0')) return undefined;
      if (typeof message.sdp === 'string') {
        let section = -1;
        message.sdp = message.sdp.split('\r\n').filter((l) => {
          if (l.startsWith('m=')) section++;
          return !l.startsWith('a=candidate:') || (section === 0 && !other(l));
        }).join('\r\n');
        changed = true;
      }
    }
    for (const key of ['sdp', 'candidate'] as const) {
      const value = message[key];
      if (typeof value !== 'string') continue;
      message[key] = value.replace(CANDIDATE, (_all, head: string, address: string, port: string, tail: string) => {
        changed = true;
        const real = { address, port: Number(port) };
        const known = side === 'member' ? this.member : this.server;
        if (known && (known.address !== real.address || known.port !== real.port)) {
          throw new Error(`LossyRelay handles one ICE candidate per side; the ${side} has ${known.address}:${known.port} and ${address}:${port}`);
        }
        if (side === 'member') this.member = real;
        else this.server = real;
        const relay = (side === 'member' ? this.toServer : this.toMember).address();
        return `${head}${relay.address} ${relay.port}${tail}`;
      });
    }
    return changed ? JSON.stringify(message) : text;
  }
}
