import WebSocket from 'ws';
import type { RunningServer } from '../../src/app.js';
import { ToneFrames } from '../../src/media/frames.js';
import { int16ToBytes } from '../../src/media/pcm.js';
import { parseMetrics } from '../helpers/metrics.js';

/** The /ws/pcm URL of a running test server with the given query. */
export function pcmUrl(server: { url: string }, query: Record<string, string> = {}): string {
  const q = new URLSearchParams(query).toString();
  return `${server.url.replace(/^http/, 'ws')}/ws/pcm${q ? `?${q}` : ''}`;
}

/** Resolves once `cond()` holds; rejects after `timeoutMs` with `what` in the message. */
export async function until(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The value of a metric on the server's registry (summed over label sets matching `labels`). */
export async function metric(server: RunningServer, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = server.metrics.registry.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  const { values } = await m.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
}

/** A raw ws client of /ws/pcm that records every JSON message in order and every audio frame. */
export class PcmProbe {
  readonly ws: WebSocket;
  readonly messages: any[] = [];
  readonly audio: Buffer[] = [];
  audioBytes = 0;
  closeCode: number | undefined;
  readonly closed: Promise<number>;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        this.audio.push(data);
        this.audioBytes += data.length;
      } else {
        this.messages.push(JSON.parse(data.toString()));
      }
    });
    this.ws.on('error', () => {});
    this.closed = new Promise((resolve) => this.ws.on('close', (code) => { this.closeCode = code; resolve(code); }));
  }

  static async open(server: { url: string }, query: Record<string, string> = {}, options: WebSocket.ClientOptions = {}): Promise<PcmProbe> {
    const p = new PcmProbe(pcmUrl(server, query), options);
    await new Promise<void>((resolve, reject) => {
      p.ws.once('open', () => resolve());
      p.ws.once('error', reject);
    });
    return p;
  }

  /** The `type`s received so far, in order. */
  types(): string[] {
    return this.messages.map((m) => m.type);
  }

  count(type: string): number {
    return this.messages.filter((m) => m.type === type).length;
  }

  last(type: string): any {
    return this.messages.filter((m) => m.type === type).at(-1);
  }

  /** Waits until `n` messages of `type` have arrived in all. */
  waitFor(type: string, n = 1, timeoutMs = 3000): Promise<void> {
    return until(() => this.count(type) >= n, `${n} "${type}" (got ${JSON.stringify(this.types())})`, timeoutMs);
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  sendJson(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  sendAudio(frame: Buffer): void {
    this.ws.send(frame, { binary: true });
  }

  /** Sends a tone as PCM at `rate` in real time (20 ms frames) until the returned function is called. */
  speak(hz: number, rate: number): () => void {
    const tone = new ToneFrames(hz, rate);
    const timer = setInterval(() => { if (this.isOpen) this.sendAudio(int16ToBytes(tone.nextFrame()!)); }, 20);
    return () => clearInterval(timer);
  }

  close(): void {
    this.ws.close();
  }
}

/** A callpeer server in a child process, so its CPU and memory are its own (read from /metrics). */
export interface ChildServer {
  readonly url: string;
  readonly pid: number;
  /** Resolves with the exit code when the child ends (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** CPU time the child has used so far, seconds, from /proc. */
  cpuSeconds(): { user: number; system: number; total: number };
  /** Samples of /metrics, parsed as name{labels} -> value. */
  scrape(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

const CHILD_SCRIPT = `
import { startServer } from './src/app.js';
import { loadServeConfig } from './src/config.js';
import { silentLogger } from './src/log.js';
const flags = JSON.parse(process.env.SERVE_FLAGS || '{}');
const s = await startServer(loadServeConfig({ port: 0, host: '127.0.0.1', ...flags }, {}), { log: silentLogger(), pcm: JSON.parse(process.env.PCM_OPTIONS || '{}') });
process.stdout.write(s.url + '\\n');
process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
`;

/**
 * The floor to compare with in benchmarks: a bare `ws` relay pairing by `pair=` code, with no
 * validation, queue, transcoding or metrics. It speaks just enough of /ws/pcm for the bench.
 */
const BASELINE_SCRIPT = `
import http from 'node:http';
import { WebSocketServer } from 'ws';
const waiting = new Map();
const server = http.createServer();
const wss = new WebSocketServer({ server, path: '/ws/pcm', maxPayload: 1 << 20 });
wss.on('connection', (ws, req) => {
  const code = new URL(req.url, 'http://x').searchParams.get('pair');
  const other = waiting.get(code);
  if (other) {
    waiting.delete(code);
    ws.peer = other;
    other.peer = ws;
    for (const s of [ws, other]) s.send('{"type":"connected"}');
  } else {
    waiting.set(code, ws);
    ws.send('{"type":"waiting"}');
  }
  ws.on('message', (d, binary) => { if (binary && ws.peer) ws.peer.send(d); });
});
server.listen(0, '127.0.0.1', () => process.stdout.write('http://127.0.0.1:' + server.address().port + '\\n'));
process.on('SIGTERM', () => process.exit(0));
`;

/** `baseline: true` runs the bare ws relay above instead of callpeer; `flags` are serve's (e.g. `{ redis: url }`). */
export async function spawnServer(pcmOptions: Record<string, number> = {}, { baseline = false, flags = {} as Record<string, unknown> } = {}): Promise<ChildServer> {
  const { spawn } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  // PCM_CPU_PROF=<dir> writes a V8 CPU profile of the server there (to see where a bench's time goes).
  const prof = process.env.PCM_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PCM_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', '--input-type=module', '-e', baseline ? BASELINE_SCRIPT : CHILD_SCRIPT], {
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...process.env, PCM_OPTIONS: JSON.stringify(pcmOptions), SERVE_FLAGS: JSON.stringify(flags) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`server child exited with ${code}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ticksPerSecond = 100; // Linux USER_HZ
  return {
    url,
    pid: child.pid!,
    exited,
    cpuSeconds() {
      // fields after the ")" of the command name: state is 3rd, utime 14th, stime 15th
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const user = Number(fields[11]) / ticksPerSecond;
      const system = Number(fields[12]) / ticksPerSecond;
      return { user, system, total: user + system };
    },
    async scrape() {
      return parseMetrics(await (await fetch(`${url}/metrics`)).text());
    },
    async close() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
