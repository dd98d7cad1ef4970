/**
 * Scale-out (issue 17), two figures:
 *  1. Signaling latency a cross-node hop adds: a `candidate` from A to B (relayed as offers
 *     and answers are) answered at once by B, round trips timed by A, with B's socket on another node (the room on A's node, so the
 *     offer goes node 1 -> Redis -> node 2 and the answer back) vs on the same node, same run.
 *  2. SFU forwarding with `serve --workers 2` vs 1 (no Redis: the primary brokers): the same
 *     audio load (rooms of 5, everyone publishes) from the load generator in this process;
 *     the server's total CPU (primary + workers) per forwarded packet. Target: within 10 % of
 *     the single process, so capacity grows with cores. On this 2-core machine the generator
 *     takes a core of its own, so both servers share what is left: the per-packet cost is the
 *     figure that carries to a bigger machine, not the peers held here.
 *
 *   unshare -n sh -c 'ip link set lo up && exec npm run bench -- cluster'
 *   (argv[2]: peers for part 2, default 100,150)
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { runLoadTest } from '../../src/loadtest/runner.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { startCli } from '../helpers/cli.js';
import { startRedis } from '../helpers/redis.js';
import { fmt } from './support/child.js';
import { processCpuMs } from './support/pin.js';

/** Round trips per case, paced under the 50 messages/s a connection may send. */
const ROUND_TRIPS = 400;
const PACE_MS = 25;
const CANDIDATE = 'candidate:842163049 1 udp 1677729535 127.0.0.1 50956 typ host generation 0';
const PEERS = (process.argv[2] ?? '100,150').split(',').map(Number);
const ROOM = 5;
const HOLD_S = 8;

async function node(args: string[]): Promise<{ url: string; pid: number; stop: () => void }> {
  const cli = await startCli(['serve', '--port', '0', '--host', '127.0.0.1', ...args], /"url":"http:\/\/127\.0\.0\.1:\d+"/, { timeoutMs: 15_000 });
  const port = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(cli.output())![1];
  return { url: `ws://127.0.0.1:${port}/ws`, pid: cli.child.pid!, stop: () => cli.child.kill('SIGTERM') };
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function next(ws: WebSocket, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    ws.on('message', function onMsg(d) {
      const m = JSON.parse(d.toString()) as Record<string, unknown>;
      if (m.type === type) { ws.off('message', onMsg); resolve(m); }
    });
  });
}

/** Round trips A -> B (offer) -> A (answer), ms each, with A on `aUrl` and B on `bUrl`. */
async function roundTrips(aUrl: string, bUrl: string, room: string): Promise<number[]> {
  const a = await open(aUrl);
  const aJoined = next(a, 'joined');
  a.send(JSON.stringify({ type: 'join', room, name: 'A' }));
  const aId = (await aJoined).id as string;
  const b = await open(bUrl);
  const bJoined = next(b, 'joined');
  b.send(JSON.stringify({ type: 'join', room, name: 'B' }));
  const bId = (await bJoined).id as string;
  // Candidates travel exactly as offers and answers do (relayed to \`to\`), without SDP checks.
  b.on('message', (d) => {
    const m = JSON.parse(d.toString()) as { type: string };
    if (m.type === 'candidate') b.send(JSON.stringify({ type: 'candidate', to: aId, candidate: CANDIDATE, mid: '0' }));
    else if (m.type === 'error') throw new Error(`B got ${d.toString()}`);
  });
  const times: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const answered = next(a, 'candidate');
    const t0 = performance.now();
    a.send(JSON.stringify({ type: 'candidate', to: bId, candidate: CANDIDATE, mid: '0' }));
    await answered;
    times.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, PACE_MS));
  }
  a.terminate();
  b.terminate();
  return times.sort((x, y) => x - y);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

// 1. The hop.
console.log('cluster bench: starting redis-server and two nodes');
const redis = await startRedis();
const n1 = await node(['--redis', redis.url]);
const n2 = await node(['--redis', redis.url]);
const same = await roundTrips(n1.url, n1.url, 'hop-same');
const cross = await roundTrips(n1.url, n2.url, 'hop-cross');
console.log(`signaling round trip (candidate A -> B, one back B -> A), ${ROUND_TRIPS} each ${PACE_MS} ms apart, two nodes and redis-server on loopback:`);
console.log(`  same node : p50 ${fmt(pct(same, 50), 3)} ms, p99 ${fmt(pct(same, 99), 3)} ms`);
console.log(`  cross-node: p50 ${fmt(pct(cross, 50), 3)} ms, p99 ${fmt(pct(cross, 99), 3)} ms (B's socket on the other node: two Redis hops per round trip)`);
console.log(`  added per hop (half the round trip's difference): p50 ${fmt((pct(cross, 50) - pct(same, 50)) / 2, 3)} ms, p99 ${fmt((pct(cross, 99) - pct(same, 99)) / 2, 3)} ms`);
n1.stop();
n2.stop();
await redis.close();

// 2. Workers.
async function forward(workers: number, peers: number): Promise<{ usPerPacket: number; pps: number; loss: number; held: boolean; cpuPercent: number }> {
  const server = await node(['--topology', 'sfu', '--rtc-bind', '127.0.0.1', ...(workers > 1 ? ['--workers', String(workers)] : [])]);
  const pids = () => [server.pid, ...childrenOf(server.pid)];
  let cpu0 = 0;
  let t0 = 0;
  let cpu1 = 0;
  let t1 = 0;
  const settleS = peers / 50 + 1.5;
  const r = await runLoadTest({ url: server.url, rooms: peers / ROOM, peers: ROOM, rampPerSecond: 50, durationSeconds: HOLD_S, audio: 'tone', bindAddress: '127.0.0.1' }, {
    onProgress: (p) => {
      if (p.phase !== 'holding' || p.t <= settleS) return;
      const cpu = pids().reduce((n, pid) => { try { return n + processCpuMs(pid); } catch { return n; } }, 0);
      if (t0 === 0) { cpu0 = cpu; t0 = performance.now(); } else { cpu1 = cpu; t1 = performance.now(); }
    },
  });
  server.stop();
  cleanupRtc();
  const s = r.summary;
  // What the SFU forwarded: every packet the peers received (4 copies of each sent).
  const pps = s.packets.received / (HOLD_S + peers / 50);
  const seconds = (t1 - t0) / 1000;
  const cpuPercent = seconds > 0 ? ((cpu1 - cpu0) / 10) / seconds : 0;
  const usPerPacket = seconds > 0 && pps > 0 ? ((cpu1 - cpu0) * 1000) / seconds / pps : 0;
  return { usPerPacket, pps, loss: s.packets.lossPercent, held: s.packets.lossPercent < 1 && s.tracks.received === s.tracks.expected, cpuPercent };
}

console.log(`\nSFU forwarding, rooms of ${ROOM} (everyone publishes audio, hears 4), hold ${HOLD_S} s; server CPU = primary + workers:`);
for (const peers of PEERS) {
  const one = await forward(1, peers);
  const two = await forward(2, peers);
  for (const [label, x] of [['--workers 1', one], ['--workers 2', two]] as const) {
    console.log(`  ${String(peers).padStart(4)} peers ${label}: ${fmt(x.pps, 0)} forwarded pkts/s, server CPU ${fmt(x.cpuPercent, 0)} % of a core, ${fmt(x.usPerPacket, 2)} µs per forwarded packet, loss ${x.loss.toFixed(2)} %${x.held ? '' : ' (NOT held)'}`);
  }
  const ratio = two.usPerPacket / one.usPerPacket;
  console.log(`  ${String(peers).padStart(4)} peers: per-packet cost workers 2 / 1 = ${fmt(ratio, 2)}x (target <= 1.10: ${ratio <= 1.1 ? 'met' : 'MISSED'})`);
}
process.exit(0);
