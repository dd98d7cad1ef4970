import { afterAll, beforeAll } from 'vitest';
import WebSocket from 'ws';
import { startServer, type RunningServer, type StartOptions } from '../../src/app.js';
import { loadServeConfig, type ServeFlags } from '../../src/config.js';
import { createLogger, silentLogger } from '../../src/log.js';

/**
 * A real callpeer server on 127.0.0.1 and an ephemeral port. Silent, unless CALLPEER_TEST_LOG
 * names a level (`CALLPEER_TEST_LOG=debug npx vitest run …` to see why a test fails).
 */
export async function startTestServer(flags: ServeFlags = {}, options: Partial<StartOptions> = {}): Promise<RunningServer> {
  const config = loadServeConfig({ port: 0, host: '127.0.0.1', ...flags }, {});
  const level = process.env.CALLPEER_TEST_LOG as 'debug' | undefined;
  return startServer(config, { log: level ? createLogger({ level, pretty: false, destination: process.stderr }) : silentLogger(), ...options });
}

/** A raw `ws` client that records every JSON message and lets a test await the next of a type. */
export class Probe {
  readonly ws: WebSocket;
  readonly received: Record<string, unknown>[] = [];
  private waiters: { type: string; resolve: (m: any) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const msg = JSON.parse(data.toString()) as Record<string, unknown>;
      const i = this.waiters.findIndex((w) => w.type === msg.type);
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        clearTimeout(w!.timer);
        w!.resolve(msg);
      } else {
        this.received.push(msg);
      }
    });
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(url: string, options: WebSocket.ClientOptions = {}): Promise<Probe> {
    const p = new Probe(url, options);
    await new Promise<void>((resolve, reject) => {
      p.ws.once('open', () => resolve());
      p.ws.once('error', reject);
    });
    return p;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** The next message of `type` (already received or still to come). */
  next<T = any>(type: string, timeoutMs = 3000): Promise<T> {
    const i = this.received.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.received.splice(i, 1)[0] as T);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.timer !== timer);
        reject(new Error(`no "${type}" within ${timeoutMs} ms; got ${JSON.stringify(this.received.map((m) => m.type))}`));
      }, timeoutMs);
      this.waiters.push({ type, resolve, reject, timer });
    });
  }

  /** Asserts helper: resolves true if no message of `type` arrives within `ms`. */
  async none(type: string, ms = 200): Promise<boolean> {
    try {
      await this.next(type, ms);
      return false;
    } catch {
      return true;
    }
  }

  async join(room: string, extra: Record<string, unknown> = {}): Promise<any> {
    this.send({ type: 'join', room, ...extra });
    return this.next('joined');
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * One real server for a test file: started before its tests, closed after them; with
 * `rtc: true` node-datachannel's threads are released too (the file's peers must be closed).
 */
export function useTestServer(flags: ServeFlags = {}, options: Partial<StartOptions> & { rtc?: boolean } = {}): { readonly server: RunningServer } {
  const { rtc, ...startOptions } = options;
  let server: RunningServer | undefined;
  beforeAll(async () => { server = await startTestServer(flags, startOptions); });
  afterAll(async () => {
    await server?.close();
    if (rtc) (await import('../../src/rtc/peer.js')).cleanupRtc();
  });
  return {
    get server() {
      if (!server) throw new Error('useTestServer: the server starts in beforeAll');
      return server;
    },
  };
}
