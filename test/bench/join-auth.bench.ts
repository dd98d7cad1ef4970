/**
 * Join latency with auth on against auth off, same run: 100 joins/s for 10 s on each server
 * (each join a fresh socket, already open, sending `join` and timing until `joined`), auth on
 * with an HS256 admin token verified per join. Target (issue 13): join p95 with auth on within
 * 1 ms of auth off.
 */
import WebSocket from 'ws';
import { mintToken } from '../../src/auth/tokens.js';
import { BenchServer, fmt } from './support/child.js';
import { BENCH_AUTH_SECRET } from './support/server-child.js';

const RATE = 100;
const SECONDS = 10;

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function run(kind: 'callpeer' | 'auth', token: string | undefined) {
  const server = await BenchServer.start(kind);
  const n = RATE * SECONDS;
  const sockets = await Promise.all(Array.from({ length: n }, () => open(server.url)));
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(sockets.map((ws, i) => new Promise<void>((resolve, reject) => {
    setTimeout(() => {
      const sent = performance.now();
      ws.once('message', (d) => {
        const m = JSON.parse(d.toString());
        if (m.type !== 'joined') reject(new Error(`join refused: ${d}`));
        latencies.push(performance.now() - sent);
        resolve();
      });
      ws.send(JSON.stringify({ type: 'join', room: `r${i % 50}`, ...(token && { token }) }));
    }, (i * 1000) / RATE);
  })));
  const wall = (performance.now() - t0) / 1000;
  for (const ws of sockets) ws.terminate();
  server.stop();
  return { p50: pct(latencies, 0.5), p95: pct(latencies, 0.95), p99: pct(latencies, 0.99), rate: n / wall };
}

const token = await mintToken({ secret: BENCH_AUTH_SECRET, identity: 'bench', room: '*', roles: ['admin'], ttlSeconds: 3600 });
const off = await run('callpeer', undefined);
const on = await run('auth', token);
console.log(`join latency at ${RATE} joins/s for ${SECONDS} s (fresh sockets, 50 rooms)`);
console.log(`  auth off: p50 ${fmt(off.p50, 2)} ms, p95 ${fmt(off.p95, 2)} ms, p99 ${fmt(off.p99, 2)} ms (${fmt(off.rate, 0)} joins/s)`);
console.log(`  auth on : p50 ${fmt(on.p50, 2)} ms, p95 ${fmt(on.p95, 2)} ms, p99 ${fmt(on.p99, 2)} ms (${fmt(on.rate, 0)} joins/s)`);
console.log(`  p95 difference: ${fmt(on.p95 - off.p95, 2)} ms; target within 1 ms: ${on.p95 - off.p95 <= 1 ? 'met' : 'MISSED'}`);
