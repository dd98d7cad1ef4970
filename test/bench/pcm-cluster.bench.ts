/**
 * PCM pairs across nodes (issue 17): what relaying a pair's frames between two callpeer nodes
 * through Redis costs, against pairs on one node of the same cluster in the same run. Two nodes
 * (child processes, `--redis` on a local redis-server); N pairs by invite code, both partners
 * sending 20 ms PCM frames (48 kHz, 1920 B) in real time, each frame stamped with its send time.
 *   same node: both clients on node A (the pair is local, Redis only knows the code);
 *   across:    one on A (the code's home, where the pair lives), one on B (its frames go
 *              B -> Redis -> A, and its partner's A -> Redis -> B).
 * Then the same over `serve --workers` without Redis (the built CLI: run `npm run build` first):
 * --workers 1 (every pair on the one worker) against --workers 2 (the primary hands connections
 * to the workers in turn, so each pair's two clients are on different workers and its frames
 * cross through the primary's IPC channel, base64 in JSON).
 * Figures: frames received per second, lost, one-way latency p50/p99 (client to client), CPU
 * per received frame of the nodes and of the hub (redis-server, or the primary); ratios across /
 * same node.
 * Run: npm run bench -- pcm-cluster [seconds per run, default 3]
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { pcmUrl, sleep, spawnServer } from '../integration/pcm-harness.js';
import { startCli } from '../helpers/cli.js';
import { startRedis } from '../helpers/redis.js';
import { spreadSenders } from './support/spread-senders.js';

const FRAME_BYTES = 1920;
const SECONDS = Number(process.argv[2] ?? 3);
const ROUNDS = 2;
const WARMUP_MS = 1000;

interface Result { layout: string; pairs: number; perSecond: number; lost: number; p50: number; p99: number; nodeUs: number; hubUs: number }

/** Where a pair's two clients connect, and the CPU seconds used so far by the nodes and by the hub. */
interface Setup { first: { url: string }; second: { url: string }; cpu: () => { nodes: number; hub: number } }

/** CPU seconds a process has used, from /proc (utime + stime, USER_HZ 100). */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Pids of a process's children (the workers of `serve --workers`). */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

/** Opens a /ws/pcm client and resolves once it got `type` (waiting or connected). */
function connect(url: string, type: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('error', reject);
    const onText = (data: Buffer, isBinary: boolean) => {
      if (isBinary || JSON.parse(data.toString()).type !== type) return;
      ws.off('message', onText);
      ws.on('error', () => undefined); // a reset after the run is not the bench's business
      resolve(ws);
    };
    ws.on('message', onText);
  });
}

async function run(layout: string, pairs: number, setup: Setup, round: number): Promise<Result> {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < pairs; i++) {
    const pair = `bench-${round}-${layout.replace(/\W/g, '')}-${i}`;
    const first = await connect(pcmUrl(setup.first, { pair }), 'waiting');
    const second = await connect(pcmUrl(setup.second, { pair }), 'connected');
    sockets.push(first, second);
  }
  const latencies: number[] = [];
  let measuring = false;
  let sent = 0;
  let received = 0;
  for (const ws of sockets) {
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary || !measuring) return;
      latencies.push(performance.now() - data.readDoubleLE(0));
      received++;
    });
  }
  const stop = spreadSenders(sockets, FRAME_BYTES, () => { if (measuring) sent++; });
  await sleep(WARMUP_MS);
  measuring = true;
  const cpu0 = setup.cpu();
  await sleep(SECONDS * 1000);
  const cpu1 = setup.cpu();
  stop();
  await sleep(200);
  measuring = false;
  for (const ws of sockets) ws.close();
  await sleep(500);
  latencies.sort((x, y) => x - y);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return {
    layout, pairs,
    perSecond: received / SECONDS,
    lost: Math.max(0, sent - received),
    p50: at(50), p99: at(99),
    nodeUs: ((cpu1.nodes - cpu0.nodes) * 1e6) / Math.max(1, received),
    hubUs: ((cpu1.hub - cpu0.hub) * 1e6) / Math.max(1, received),
  };
}

const line = (r: Result) => `${r.layout.padEnd(11)} ${String(r.pairs).padStart(5)} ${r.perSecond.toFixed(0).padStart(9)} ${String(r.lost).padStart(6)} ${r.p50.toFixed(2).padStart(7)} ${r.p99.toFixed(2).padStart(7)} ${r.nodeUs.toFixed(1).padStart(11)} ${r.hubUs.toFixed(1).padStart(11)}`;

const HEADER = `${'layout'.padEnd(11)} ${'pairs'.padStart(5)} ${'frames/s'.padStart(9)} ${'lost'.padStart(6)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'nodes µs/fr'.padStart(11)} ${'hub µs/fr'.padStart(11)}`;

/** Runs both layouts at each load, alternating, and prints the ratios of their best runs. */
async function compare(same: [string, Setup], across: [string, Setup]): Promise<void> {
  console.log(HEADER);
  const best = new Map<string, Result>();
  for (const pairs of [50, 150]) {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [layout, setup] of [same, across]) {
        const r = await run(layout, pairs, setup, round);
        console.log(line(r));
        const key = `${layout}/${pairs}`;
        if (!best.has(key) || r.p99 < best.get(key)!.p99) best.set(key, r);
      }
    }
  }
  console.log(`ratios ${across[0]} / ${same[0]} (best runs, same run):`);
  for (const pairs of [50, 150]) {
    const s = best.get(`${same[0]}/${pairs}`)!;
    const x = best.get(`${across[0]}/${pairs}`)!;
    const cpu = (r: Result) => r.nodeUs + r.hubUs;
    console.log(`  ${pairs} pairs: frames/s x${(x.perSecond / s.perSecond).toFixed(2)}; p50 ${s.p50.toFixed(2)} -> ${x.p50.toFixed(2)} ms (+${(x.p50 - s.p50).toFixed(2)} ms); p99 ${s.p99.toFixed(2)} -> ${x.p99.toFixed(2)} ms (x${(x.p99 / s.p99).toFixed(2)}); CPU per frame, nodes + hub: ${cpu(s).toFixed(1)} -> ${cpu(x).toFixed(1)} µs (x${(cpu(x) / cpu(s)).toFixed(2)}); lost ${s.lost} / ${x.lost}`);
  }
}

/** Processes this bench started: killed if it dies (its output closed, an error) rather than left running. */
const started: number[] = [];
process.on('exit', () => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

async function redisNodes(): Promise<void> {
  const redis = await startRedis();
  // Every client comes from 127.0.0.1: no per-address limit.
  const flags = { redis: redis.url, maxConnectionsPerIp: 0 };
  const a = await spawnServer({}, { flags });
  const b = await spawnServer({}, { flags });
  started.push(redis.child.pid!, a.pid, b.pid);
  try {
    const cpu = () => ({ nodes: cpuOf(a.pid) + cpuOf(b.pid), hub: cpuOf(redis.child.pid!) });
    console.log(`\n--redis, two nodes: 48 kHz PCM, 20 ms frames (${FRAME_BYTES} B), both partners sending, ${SECONDS} s per run, best of ${ROUNDS} (lowest p99); hub = redis-server`);
    await compare(['same node', { first: a, second: a, cpu }], ['across', { first: a, second: b, cpu }]);
  } finally {
    await a.close();
    await b.close();
    await redis.close();
  }
}

async function serveWorkers(n: number) {
  const server = await startCli(['serve', '--port', '0', '--host', '127.0.0.1', '--workers', String(n), '--max-connections-per-ip', '0', '--log-level', 'debug'],
    new RegExp(Array(n).fill('callpeer listening').join('[\\s\\S]*')), { timeoutMs: 20_000 });
  const url = `http://127.0.0.1:${/"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(server.output())![1]}`;
  const pid = server.child.pid!;
  started.push(pid, ...childrenOf(pid));
  const cpu = () => ({ nodes: childrenOf(pid).reduce((t, c) => t + cpuOf(c), 0), hub: cpuOf(pid) });
  return { setup: { first: { url }, second: { url }, cpu } satisfies Setup, server };
}

async function workers(): Promise<void> {
  const one = await serveWorkers(1);
  const two = await serveWorkers(2);
  try {
    console.log(`\n--workers without Redis: the same, --workers 1 against --workers 2; hub = the primary`);
    await compare(['workers 1', one.setup], ['workers 2', two.setup]);
    const relayed = two.server.output().match(/pcm client relayed to another node/g)?.length ?? 0;
    console.log(`  with 2 workers, ${relayed} clients were relayed to the other worker (one per pair when every pair crosses)`);
  } finally {
    for (const s of [one, two]) {
      s.server.child.kill('SIGTERM');
      await s.server.exited;
    }
  }
}

await redisNodes();
await workers();
