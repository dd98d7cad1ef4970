/**
 * A slow link between the server and one browser page, in userspace (the test namespace has
 * no netem): the page's signaling is routed through Playwright (`page.routeWebSocket`) so that
 * each side's ICE candidate points at a UDP relay, and what the server sends the page crosses
 * a bottleneck: a FIFO drained at `rateBps` that drops what would wait longer than `queueMs`
 * (a router's tail-drop queue). A real bandwidth estimator sees what it would see on such a
 * link: delay growing while the queue fills, then loss. STUN and DTLS pass at once, so the
 * connection comes up as usual; `setRate(undefined)` opens the link.
 *
 *   const relay = await BottleneckRelay.start();
 *   const page = await joinCall(browser, url, room, 'Sub', { beforeNavigate: (p) => relay.route(p) });
 *   relay.setRate(400_000);
 *
 * One page per relay. Only IPv4 UDP candidates are kept (the server's `rtcBind` 127.0.0.1 has
 * one; the page's others are dropped), so every packet between them crosses the relay.
 */
import type dgram from 'node:dgram';
import type { Page } from 'playwright-core';
import { bindLoopbackUdp } from './udp.js';

interface Endpoint { address: string; port: number }

const CANDIDATE = /candidate:\S+ \d+ (\S+) \d+ (\S+) (\d+) typ \w+/i;

/** STUN (first byte 0..3) or DTLS (20..63), RFC 7983: never queued. */
function isHandshake(packet: Buffer): boolean {
  return packet.length > 0 && packet[0]! < 64;
}

export interface BottleneckStats {
  /** Packets from the server to the page that crossed the bottleneck, and those it dropped. */
  sent: number;
  dropped: number;
  /** The longest wait in the queue so far, ms. */
  maxQueueMs: number;
}

export class BottleneckRelay {
  readonly stats: BottleneckStats = { sent: 0, dropped: 0, maxQueueMs: 0 };
  private page: Endpoint | undefined;
  private server: Endpoint | undefined;
  private rateBps: number | undefined;
  private readonly queue: { packet: Buffer; leaveAt: number }[] = [];
  /** When the link is busy until (performance.now() ms): the queue's delay is this minus now. */
  private busyUntil = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    /** Faces the server: the page's candidate, as the server is told it. */
    private readonly toServer: dgram.Socket,
    /** Faces the page: the server's candidate, as the page is told it. */
    private readonly toPage: dgram.Socket,
    private readonly queueMs: number,
  ) {
    toPage.on('message', (packet, from) => {
      this.page = { address: from.address, port: from.port };
      if (this.server) toServer.send(packet, this.server.port, this.server.address);
    });
    toServer.on('message', (packet) => this.fromServer(packet));
  }

  static async start(options: { queueMs?: number } = {}): Promise<BottleneckRelay> {
    return new BottleneckRelay(await bindLoopbackUdp(), await bindLoopbackUdp(), options.queueMs ?? 250);
  }

  /** The link's rate from now on, bits/s; undefined: no limit (the queue drains at once). */
  setRate(rateBps: number | undefined): void {
    this.rateBps = rateBps;
    if (rateBps === undefined) this.drain(Infinity);
  }

  /** Routes `page`'s signaling through the relay (call before the page opens its WebSocket). */
  async route(page: Page): Promise<void> {
    await page.routeWebSocket(/.*/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => { const out = this.rewrite(String(m), 'page'); if (out !== undefined) server.send(out); });
      server.onMessage((m) => { const out = this.rewrite(String(m), 'server'); if (out !== undefined) ws.send(out); });
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.toServer.close();
    this.toPage.close();
  }

  private fromServer(packet: Buffer): void {
    const page = this.page;
    if (!page) return;
    if (this.rateBps === undefined || isHandshake(packet)) {
      this.toPage.send(packet, page.port, page.address);
      return;
    }
    const now = performance.now();
    const waitMs = Math.max(0, this.busyUntil - now);
    if (waitMs > this.queueMs) {
      this.stats.dropped++;
      return;
    }
    this.stats.maxQueueMs = Math.max(this.stats.maxQueueMs, waitMs);
    this.busyUntil = Math.max(this.busyUntil, now) + (packet.length * 8 * 1000) / this.rateBps;
    this.queue.push({ packet, leaveAt: this.busyUntil });
    this.schedule();
  }

  /** Sends every packet whose bits have gone through the link by `untilMs`. */
  private drain(untilMs: number): void {
    while (this.queue.length > 0 && this.queue[0]!.leaveAt <= untilMs) {
      const { packet } = this.queue.shift()!;
      this.stats.sent++;
      if (this.page) this.toPage.send(packet, this.page.port, this.page.address);
    }
  }

  private schedule(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain(performance.now());
      this.schedule();
    }, Math.max(1, this.queue[0]!.leaveAt - performance.now()));
  }

  /**
   * A signaling message from `side` with its candidates pointed at the relay; candidates that
   * are not IPv4 UDP are dropped (undefined: the whole message was one of those).
   */
  private rewrite(text: string, side: 'page' | 'server'): string | undefined {
    let message: Record<string, unknown>;
    try { message = JSON.parse(text) as Record<string, unknown>; } catch { return text; }
    const relay = (side === 'page' ? this.toServer : this.toPage).address();
    const point = (line: string): string | undefined => {
      const m = CANDIDATE.exec(line);
      if (!m) return line;
      const [, transport, address, port] = m;
      if (transport!.toLowerCase() !== 'udp' || !/^\d+\.\d+\.\d+\.\d+$/.test(address!)) return undefined;
      if (side === 'server') this.server = { address: address!, port: Number(port) };
      return line.replace(`${address} ${port} typ`, `${relay.address} ${relay.port} typ`);
    };
    if (typeof message.candidate === 'string' && message.candidate !== '') {
      const line = point(message.candidate);
      if (line === undefined) return undefined;
      message.candidate = line;
    }
    if (typeof message.sdp === 'string') {
      message.sdp = message.sdp.split('\r\n').map((l) => (l.startsWith('a=candidate:') ? point(l) : l)).filter((l) => l !== undefined).join('\r\n');
    }
    return JSON.stringify(message);
  }
}
