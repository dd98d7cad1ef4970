/**
 * A real coturn for tests: `turnserver` on 127.0.0.1 and a free port, in TURN REST API mode
 * (`use-auth-secret`), its log kept in memory so a test can check what it allocated or refused.
 * Started by the test, stopped by PID (see shared/TESTING.md).
 *
 *   const turn = await startCoturn();
 *   const server = await startTestServer({ turnUrl: turn.url, turnSecret: turn.secret });
 *   ...
 *   await turn.waitForLog(/ALLOCATE processed, success/);
 *   await turn.close();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Where coturn is looked for; CALLPEER_TURNSERVER overrides. */
export const TURNSERVER_PATH = process.env.CALLPEER_TURNSERVER ?? '/usr/bin/turnserver';

export function hasCoturn(): boolean {
  try {
    accessSync(TURNSERVER_PATH, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Appended to a suite name: why it is skipped, or nothing when coturn is there. */
export function coturnSkipNote(): string {
  return hasCoturn() ? '' : ` (skipped: coturn not found at ${TURNSERVER_PATH}: apt-get install -y coturn)`;
}

export interface Coturn {
  /** turn:127.0.0.1:<port>?transport=udp, for serve --turn-url. */
  readonly url: string;
  readonly port: number;
  /** The static-auth-secret, for serve --turn-secret. */
  readonly secret: string;
  readonly pid: number;
  /** The command line it was started with (for reports). */
  readonly args: readonly string[];
  /** Everything coturn logged so far. */
  log(): string;
  /** The log lines matching `re`. */
  lines(re: RegExp): string[];
  /** Resolves with the first log line matching `re`; rejects after `timeoutMs` (default 5000) with the log's tail. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM by PID (SIGKILL after 2 s), and its temporary folder removed. Safe to call twice. */
  close(): Promise<void>;
}

export interface CoturnOptions {
  /** Default: 16 random bytes, hex. */
  secret?: string;
  /** Default 'callpeer'. */
  realm?: string;
  /**
   * The address relayed candidates get (default 127.0.0.2; Linux answers on all of 127/8).
   * Not the 127.0.0.1 everything else binds: libjuice (node-datachannel) asked for relay only
   * still sends checks from its host socket, and coturn lets a peer through by IP alone, so
   * with one address for all a "relayed" Node connection can quietly take a host path. With
   * relays on their own address, a relay-only side permits relay addresses only, and a host
   * socket's packets to it are dropped: the relay path is the only one.
   */
  relayIp?: string;
  /** Extra turnserver arguments. */
  args?: string[];
}

/** A port free for both UDP and TCP on 127.0.0.1 (coturn listens on both). */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = dgram.createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve(udp.address().port));
    });
    const tcp = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((r) => udp.close(() => r()));
    if (ok) await new Promise<void>((r) => tcp.close(() => r()));
    if (ok) return port;
  }
  throw new Error('no port free for both UDP and TCP on 127.0.0.1');
}

/** Resolves once a STUN Binding request to 127.0.0.1:`port` is answered (coturn is up). */
async function stunAnswered(port: number, timeoutMs: number): Promise<void> {
  const sock = dgram.createSocket('udp4');
  const deadline = Date.now() + timeoutMs;
  try {
    await new Promise<void>((resolve, reject) => {
      const request = Buffer.alloc(20);
      request.writeUInt16BE(0x0001, 0); // Binding request
      request.writeUInt16BE(0, 2); // no attributes
      request.writeUInt32BE(0x2112a442, 4); // magic cookie (RFC 5389)
      randomBytes(12).copy(request, 8); // transaction id
      const timer = setInterval(() => {
        if (Date.now() > deadline) {
          clearInterval(timer);
          reject(new Error(`coturn did not answer STUN on 127.0.0.1:${port} within ${timeoutMs} ms`));
        } else {
          sock.send(request, port, '127.0.0.1');
        }
      }, 50);
      sock.on('message', (msg) => {
        // 0x0101: Binding success response, for our transaction.
        if (msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(request.subarray(8, 20))) {
          clearInterval(timer);
          resolve();
        }
      });
      sock.on('error', () => undefined); // ICMP port unreachable before coturn listens: try again
      sock.bind(0, '127.0.0.1', () => sock.send(request, port, '127.0.0.1'));
    });
  } finally {
    sock.close();
  }
}

export async function startCoturn(options: CoturnOptions = {}): Promise<Coturn> {
  const secret = options.secret ?? randomBytes(16).toString('hex');
  const port = await freePort();
  // Relay ports above Linux's ephemeral range (32768-60999), so no test's sockets take them.
  const minPort = 61_000 + Math.floor(Math.random() * 40) * 100;
  const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-coturn-'));
  const args = [
    '--use-auth-secret', '--static-auth-secret', secret, '--realm', options.realm ?? 'callpeer',
    '--listening-ip', '127.0.0.1', '--relay-ip', options.relayIp ?? '127.0.0.2', '--listening-port', String(port),
    '--min-port', String(minPort), '--max-port', String(minPort + 99),
    // Every candidate in a test is on 127.0.0.1: coturn refuses loopback peers unless told.
    '--allow-loopback-peers',
    '--no-cli', '--no-tls', '--no-dtls', '--log-file', 'stdout', '-n',
    // Its own pid file and database, not the system's /var/run and /var/lib/turn.
    '--pidfile', path.join(dir, 'turnserver.pid'), '--db', path.join(dir, 'turndb'),
    ...(options.args ?? []),
  ];
  const child: ChildProcess = spawn(TURNSERVER_PATH, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { text += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { text += d; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([
      stunAnswered(port, 5000),
      exited.then(() => { throw new Error(`turnserver exited at start:\n${text.slice(-2000)}`); }),
    ]);
  } catch (err) {
    await close();
    throw err;
  }
  const lines = (re: RegExp) => text.split('\n').filter((l) => re.test(l));
  return {
    url: `turn:127.0.0.1:${port}?transport=udp`,
    port,
    secret,
    pid: child.pid!,
    args,
    log: () => text,
    lines,
    async waitForLog(re, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines(re)[0];
        if (hit !== undefined) return hit;
        if (Date.now() > deadline) throw new Error(`coturn logged nothing matching ${re} within ${timeoutMs} ms; its log ends:\n${text.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close,
  };
}
