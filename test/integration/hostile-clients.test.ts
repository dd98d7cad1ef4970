/**
 * Clients that hold connections without being clients: 1,000 idle sockets, slowloris (headers
 * dribbled), one address opening more than its share. The server (`callpeer serve` in its own
 * process, --max-connections-per-ip 50 --headers-timeout 2) keeps serving everyone else at
 * once, cuts the idle and the slow by their deadline, and its memory stays bounded. The
 * hostile sockets come from 127.0.0.2-127.0.0.31 (all loopback), the clean client from 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startCli } from '../helpers/cli.js';

const PER_IP = 50;
const HEADERS_TIMEOUT_S = 2;

let server: Awaited<ReturnType<typeof startCli>>;
let port: number;
let base: string;

beforeAll(async () => {
  server = await startCli(['serve', '--host', '0.0.0.0', '--port', '0', '--max-connections-per-ip', String(PER_IP), '--headers-timeout', String(HEADERS_TIMEOUT_S)], /callpeer listening/, { timeoutMs: 20_000 });
  const url = JSON.parse(server.output().split('\n').find((l) => l.includes('callpeer listening'))!).url as string;
  port = Number(new URL(url).port);
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server.child.kill('SIGTERM');
  await server.exited;
});

const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))![1]) / 1024;

interface Held { socket: net.Socket; closedAt: Promise<number> }

/** A TCP connection from `localAddress` that does nothing (or what `act` does); resolves when connected. */
function hold(localAddress: string, act?: (s: net.Socket) => void): Promise<Held> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    const closedAt = new Promise<number>((r) => socket.once('close', () => r(performance.now())));
    socket.on('error', () => { /* reset by the server: counted by its close */ });
    socket.once('connect', () => { act?.(socket); resolve({ socket, closedAt }); });
    socket.once('close', () => resolve({ socket, closedAt }));
  });
}

/** A clean client: the lobby page, and a join over /ws, each timed. */
async function cleanClient(): Promise<{ pageMs: number; joinMs: number }> {
  const t0 = performance.now();
  const res = await fetch(`${base}/`);
  expect(res.status).toBe(200);
  await res.text();
  const pageMs = performance.now() - t0;
  const t1 = performance.now();
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws`);
  await new Promise((r) => ws.once('open', r));
  ws.send(JSON.stringify({ type: 'join', room: `clean-${Math.random().toString(36).slice(2, 8)}`, name: 'clean' }));
  const joined = await new Promise<{ type: string }>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()))));
  expect(joined.type).toBe('joined');
  const joinMs = performance.now() - t1;
  ws.close();
  return { pageMs, joinMs };
}

async function refusedCount(reason: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(new RegExp(`callpeer_connections_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

describe('hostile connections', () => {
  it('1,000 idle sockets: a clean client is served at once, and the idle ones are cut after the headers timeout', async () => {
    const rss0 = rssMb();
    const t0 = performance.now();
    const idle = await Promise.all(Array.from({ length: 1000 }, (_, i) => hold(`127.0.0.${2 + Math.floor(i / 40)}`)));
    const open = idle.filter((h) => !h.socket.destroyed).length;
    expect(open).toBe(1000);
    const { pageMs, joinMs } = await cleanClient();
    expect(pageMs).toBeLessThan(1000);
    expect(joinMs).toBeLessThan(1000);
    const rssHeld = rssMb();
    const closed = await Promise.all(idle.map((h) => h.closedAt));
    const after = closed.map((t) => (t - t0) / 1000);
    console.log(`1,000 idle sockets: cut ${Math.min(...after).toFixed(1)}-${Math.max(...after).toFixed(1)} s after they opened; RSS ${rss0.toFixed(0)} -> ${rssHeld.toFixed(0)} MB while held; page ${pageMs.toFixed(0)} ms, join ${joinMs.toFixed(0)} ms`);
    expect(Math.min(...after)).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_S - 0.5);
    expect(Math.max(...after)).toBeLessThan(HEADERS_TIMEOUT_S + 3);
    expect(rssHeld - rss0).toBeLessThan(64);
    expect(await refusedCount('idle')).toBeGreaterThanOrEqual(1000);
  }, 60_000);

  it('slowloris: headers dribbled a byte at a time are cut at the headers timeout while others are served', async () => {
    const dribble = (s: net.Socket) => {
      const text = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ';
      let i = 0;
      const timer = setInterval(() => { if (s.writable) s.write(text[i++ % text.length]!); else clearInterval(timer); }, 100);
      s.once('close', () => clearInterval(timer));
    };
    const t0 = performance.now();
    const slow = await Promise.all(Array.from({ length: 200 }, (_, i) => hold(`127.0.0.${2 + Math.floor(i / 40)}`, dribble)));
    await new Promise((r) => setTimeout(r, 500));
    const { pageMs } = await cleanClient();
    expect(pageMs).toBeLessThan(1000);
    const closed = await Promise.all(slow.map((h) => h.closedAt));
    const latest = Math.max(...closed.map((t) => (t - t0) / 1000));
    console.log(`slowloris x200: every socket cut within ${latest.toFixed(1)} s`);
    expect(latest).toBeLessThan(HEADERS_TIMEOUT_S + 3);
  }, 60_000);

  it('one address is held to its share; the others are not', async () => {
    const before = await refusedCount('per-ip');
    const mine = await Promise.all(Array.from({ length: PER_IP + 10 }, () => hold('127.0.0.40')));
    await new Promise((r) => setTimeout(r, 300));
    const cut = mine.filter((h) => h.socket.destroyed).length;
    expect(cut).toBe(10);
    expect(await refusedCount('per-ip')).toBe(before + 10);
    // A WebSocket from the same address is refused too; from another it is served.
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { localAddress: '127.0.0.40' });
    const outcome = await new Promise<string>((r) => { ws.once('open', () => r('open')); ws.once('error', () => r('refused')); });
    expect(outcome).toBe('refused');
    await cleanClient();
    for (const h of mine) h.socket.destroy();
  }, 30_000);
});
