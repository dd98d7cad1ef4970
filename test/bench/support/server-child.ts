/**
 * A server in its own process for benchmarks, so its CPU and memory are measured alone.
 * argv[2]: 'callpeer' (the real server), 'sfu' (the real server with SFU rooms, media on
 * loopback), 'auth' (the real server with --auth-secret BENCH_AUTH_SECRET) or 'bare' (a ws server that relays by id with no validation: the baseline). Talks to the parent over IPC: {cmd:'stats'} -> cpu and memory.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { startServer } from '../../../src/app.js';
import { loadServeConfig } from '../../../src/config.js';
import { silentLogger } from '../../../src/log.js';

const kind = process.argv[2] ?? 'callpeer';
/** The auth secret of the 'auth' kind (the real server with auth on). */
export const BENCH_AUTH_SECRET = 'bench-auth-secret-that-is-32-bytes!!';

async function start(): Promise<string> {
  if (kind === 'callpeer' || kind === 'sfu' || kind === 'auth') {
    const sfu = kind === 'sfu' ? { topology: 'sfu' as const, rtcBind: '127.0.0.1' } : {};
    const auth = kind === 'auth' ? { authSecret: BENCH_AUTH_SECRET } : {};
    const config = loadServeConfig({ port: 0, host: '127.0.0.1', maxMembers: 1000, rateLimitPerSecond: 1e9, ...sfu, ...auth }, {});
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

if (process.send) {
  const url = await start();
  process.send({ url });
  process.on('message', (m: { cmd: string; gc?: boolean }) => {
    if (m.cmd === 'stats') {
      // Memory figures want a collected heap; CPU figures must not pay for a forced GC.
      if (m.gc !== false) (globalThis as { gc?: () => void }).gc?.();
      process.send!({ cpu: process.cpuUsage(), mem: process.memoryUsage() });
    } else if (m.cmd === 'exit') {
      process.exit(0); // a normal exit, so --cpu-prof writes its profile
    }
  });
}
