/**
 * A round-robin TCP load balancer on loopback, as a deployment puts in front of its nodes:
 * each connection goes to the next backend, and to the one after when that one refuses (a
 * dead node). Clients of a cluster test connect to `url` and never name a node.
 */
import net from 'node:net';

export class TcpBalancer {
  private next = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, private readonly backends: number[]) {}

  /** Listens on a free loopback port in front of `backends` (ports on 127.0.0.1). */
  static async start(backends: number[]): Promise<TcpBalancer> {
    let self: TcpBalancer | undefined;
    const server = net.createServer((client) => self!.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    self = new TcpBalancer(server, backends);
    return self;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    client.pause();
    const first = this.next++ % this.backends.length;
    const attempt = (tried: number): void => {
      if (tried === this.backends.length) { client.destroy(); return; }
      const port = this.backends[(first + tried) % this.backends.length]!;
      const upstream = net.connect(port, '127.0.0.1');
      let connected = false;
      // Refused (a dead node): the next backend; an error once connected ends both sides.
      upstream.on('error', () => { if (connected) client.destroy(); else attempt(tried + 1); });
      upstream.once('connect', () => {
        connected = true;
        this.sockets.add(upstream);
        upstream.once('close', () => { this.sockets.delete(upstream); client.destroy(); });
        client.once('close', () => upstream.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  }
}
