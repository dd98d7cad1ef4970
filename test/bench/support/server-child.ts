/**
 * A server in its own process for benchmarks, so its CPU and memory are measured alone.
 * argv[2]: 'callpeer' (the real server), 'sfu' (the real server with SFU rooms, media on
 * loopback; its rooms' quality rounds timed), 'gateway' ('sfu' with the PCM gateway's mix tick timed), 'auth' (the real server
 * with --auth-secret BENCH_AUTH_SECRET), 'bare' (a ws server that relays by id with no
 * validation: the baseline) or 'bare-twilio' (bare-twilio.ts: the Twilio gateway's transport
 * floor). Talks to the parent over IPC: {cmd:'stats'} -> cpu and memory; {cmd:'loop-stats'}
 * -> cpu, event-loop utilization, event-loop delay and mix tick times since the last call;
 * {cmd:'heap-snapshot'} -> {path} of a V8 heap snapshot written after a GC.
 */
import { createHistogram, monitorEventLoopDelay, performance, type RecordableHistogram } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { WebSocketServer, type WebSocket } from 'ws';
import { startServer } from '../../../src/app.js';
import { loadServeConfig } from '../../../src/config.js';
import { silentLogger } from '../../../src/log.js';
import { QualityReporter } from '../../../src/rooms/quality-reporter.js';
import { SfuGateway } from '../../../src/sfu/gateway.js';
import { startBareTwilio } from './bare-twilio.js';

const kind = process.argv[2] ?? 'callpeer';
/** The auth secret of the 'auth' kind (the real server with auth on). */
export const BENCH_AUTH_SECRET = 'bench-auth-secret-that-is-32-bytes!!';

/** Tick durations, µs: the gateway's mix ('gateway'), or every room's quality round ('sfu'). */
let ticks: RecordableHistogram | undefined;

/**
 * Times every call of a periodic method by wrapping it on the prototype, so the bench measures
 * the shipped code, not a copy of it: SfuGateway's tick (take what each leg said and encode it,
 * decode and mix the room's audio, hand each leg its mix down to its socket write), or
 * QualityReporter's (measure every member of a room, send the readings, update the metrics).
 */
function timeTicks(target: { prototype: unknown }): void {
  const h = createHistogram();
  ticks = h;
  const proto = target.prototype as { tick(): void };
  const tick = proto.tick;
  proto.tick = function timedTick(this: unknown) {
    const t0 = performance.now();
    try {
      tick.call(this);
    } finally {
      h.record(Math.max(1, Math.round((performance.now() - t0) * 1000)));
    }
  };
}

async function start(): Promise<string> {
  if (kind === 'bare-twilio') return startBareTwilio();
  if (kind === 'callpeer' || kind === 'sfu' || kind === 'gateway' || kind === 'auth') {
    if (kind === 'gateway') timeTicks(SfuGateway);
    if (kind === 'sfu') timeTicks(QualityReporter);
    const sfu = kind === 'sfu' || kind === 'gateway' ? { topology: 'sfu' as const, rtcBind: '127.0.0.1' } : {};
    const auth = kind === 'auth' ? { authSecret: BENCH_AUTH_SECRET } : {};
    // Every load generator's peer connects from loopback: no per-address limit.
    const config = loadServeConfig({ port: 0, host: '127.0.0.1', maxMembers: 1000, rateLimitPerSecond: 1e9, maxConnectionsPerIp: 0, ...sfu, ...auth }, {});
    const s = await startServer(config, { log: silentLogger(), joinTimeoutMs: 3_600_000 });
    return s.wsUrl;
  }
  // Baseline: parse JSON, look the target up, forward with `from`. What any relay must do.
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const byId = new Map<string, WebSocket>();
  let next = 0;
  wss.on('connection', (ws) => {
    const id = String(++next);
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.type === 'join') {
        byId.set(id, ws);
        ws.send(JSON.stringify({ type: 'joined', id }));
      } else if (msg.to) {
        byId.get(msg.to)?.send(JSON.stringify({ ...msg, to: undefined, from: id }));
      }
    });
    ws.on('close', () => byId.delete(id));
  });
  await new Promise((r) => wss.once('listening', r));
  const addr = wss.address() as { port: number };
  return `ws://127.0.0.1:${addr.port}/ws`;
}

/** The figures of {cmd:'loop-stats'}: since the previous call (the first: since start). */
export interface LoopStats {
  cpu: NodeJS.CpuUsage;
  /** performance.eventLoopUtilization() now (the parent takes differences). */
  elu: { idle: number; active: number };
  /** Event-loop delay since the last call, ms: how late timers (the mix tick's) fired. */
  loopDelayMs: { p50: number; p99: number; max: number };
  /** Ticks since the last call ('gateway': mix ticks; 'sfu': quality rounds), µs each. */
  tickUs: { count: number; mean: number; p50: number; p95: number; p99: number; max: number } | undefined;
}

if (process.send) {
  // A 1 ms sampling timer costs a wakeup per ms: only the benches that read it pay for it.
  const loop = kind === 'gateway' || kind === 'bare-twilio' ? monitorEventLoopDelay({ resolution: 1 }) : undefined;
  loop?.enable();
  const url = await start();
  process.send({ url });
  process.on('message', (m: { cmd: string; gc?: boolean }) => {
    if (m.cmd === 'loop-stats') {
      const ms = (ns: number) => ns / 1e6;
      const t = ticks;
      const stats: LoopStats = {
        cpu: process.cpuUsage(),
        elu: performance.eventLoopUtilization(),
        loopDelayMs: loop && loop.count > 0 ? { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) } : { p50: 0, p99: 0, max: 0 },
        tickUs: t && t.count > 0 ? { count: t.count, mean: t.mean, p50: t.percentile(50), p95: t.percentile(95), p99: t.percentile(99), max: t.max } : undefined,
      };
      loop?.reset();
      t?.reset();
      process.send!(stats);
    } else if (m.cmd === 'stats') {
      // Memory figures want a collected heap; CPU figures must not pay for a forced GC.
      if (m.gc !== false) (globalThis as { gc?: () => void }).gc?.();
      process.send!({ cpu: process.cpuUsage(), mem: process.memoryUsage() });
    } else if (m.cmd === 'heap-snapshot') {
      // For finding what a leak holds: two snapshots compared by constructor (test/soak).
      (globalThis as { gc?: () => void }).gc?.();
      process.send!({ path: writeHeapSnapshot(path.join(tmpdir(), `callpeer-${process.pid}-${Date.now()}.heapsnapshot`)) });
    } else if (m.cmd === 'exit') {
      process.exit(0); // a normal exit, so --cpu-prof writes its profile
    }
  });
}
