/**
 * What a TCP connection may hold before it is a client: at most `maxPerIp` open connections
 * from one address (nginx's limit_conn), and a deadline for its first request's headers, also
 * for a connection that sends nothing at all (Node's headersTimeout only starts at the first
 * byte). A WebSocket is a connection like any other: it counts toward its address's limit for
 * as long as it is open, and is past its deadline once upgraded.
 */
import type { Server, Socket } from 'node:net';
import type { Logger } from '../log.js';

export interface ConnectionGuardOptions {
  /** Open connections per remote address; 0: no limit. */
  maxPerIp: number;
  /** A connection whose first request has not arrived by then is closed, ms. */
  firstRequestMs: number;
  log: Logger;
  /** Called for each connection refused or cut, with why. */
  onRefused?: (reason: 'per-ip' | 'idle') => void;
}

export class ConnectionGuard {
  private readonly open = new Map<string, number>();
  /** First-request deadlines by `address|port`: the same key for a TLS socket and the TCP socket under it. */
  private readonly deadlines = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: ConnectionGuardOptions) {}

  /** Watches `server`'s connections (the raw TCP sockets, before TLS). */
  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.admit(socket));
    // A request or an upgrade is the client showing up: its connection is past the first deadline.
    server.on('request', (req: { socket: Socket }) => this.arrived(req.socket));
    server.on('upgrade', (req: { socket: Socket }) => this.arrived(req.socket));
  }

  /** Open connections from `address` now. */
  private openFrom(address: string): number {
    return this.open.get(address) ?? 0;
  }

  private admit(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    const count = this.openFrom(address);
    if (this.options.maxPerIp > 0 && count >= this.options.maxPerIp) {
      this.options.log.debug({ address, open: count }, 'connection refused: per-address limit');
      this.options.onRefused?.('per-ip');
      socket.destroy();
      return;
    }
    this.open.set(address, count + 1);
    const key = keyOf(socket);
    const timer = setTimeout(() => {
      this.options.log.debug({ address }, 'connection closed: no request in time');
      this.options.onRefused?.('idle');
      socket.destroy();
    }, this.options.firstRequestMs);
    timer.unref();
    this.deadlines.set(key, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      this.deadlines.delete(key);
      const n = this.openFrom(address) - 1;
      if (n > 0) this.open.set(address, n);
      else this.open.delete(address);
    });
  }

  private arrived(socket: Socket): void {
    const key = keyOf(socket);
    clearTimeout(this.deadlines.get(key));
    this.deadlines.delete(key);
  }
}

function keyOf(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
