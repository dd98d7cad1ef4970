import type { WebSocket } from 'ws';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';
import { CallpeerError } from '../errors.js';

export interface PcmServiceOptions {
  log: Logger;
  /** The server's Prometheus registry; the service registers its own metrics on it. */
  registry: Registry;
  /** Server ping interval, ms. Default 20000. */
  pingIntervalMs?: number;
  /** A client that sends nothing (no frame, no pong) for this long is closed, ms. Default 60000. */
  silenceTimeoutMs?: number;
}

/**
 * The /ws/pcm pairing service. The HTTP server accepts the upgrade (origin check, 1 MiB
 * frame limit) and hands each socket here with its upgrade URL.
 * PLACEHOLDER until the PCM issue lands: refuses every connection with a clear error.
 */
export class PcmService {
  constructor(private readonly options: PcmServiceOptions) {}

  handleConnection(ws: WebSocket, _url: URL): void {
    const err = new CallpeerError('INTERNAL', 'PCM pairing is not available on this server yet');
    ws.send(JSON.stringify({ type: 'error', code: err.code, message: err.message }));
    ws.close(1011, 'not available');
    this.options.log.debug('pcm connection refused: service not built');
  }

  /** Tells every client the server is going away and closes their sockets. */
  close(): void {}
}
