/**
 * What the load generator costs per simulated WHIP publisher and WHEP viewer, against the
 * bare node-datachannel floor measured in the same run (support/bare-sfu.ts: pre-built RTP,
 * nothing of ours on the path), and how many viewers this 2-core machine holds with
 * `--workers 1` and `--workers 2` (server on the same machine: its forwarding shares the cores).
 * 1. As users run it (the built CLI: `npm run build` first), a fresh server and loadtest process
 *    per step, unpinned: viewers stepped up with 1 worker, then with 2, until loss >= 1 %, a
 *    missing stream or a saturated generator (the run's own verdict).
 * 2. Pinned (generator on the idler core, server on the other): 150 WHIP publishers, then 1
 *    publisher + 300 WHEP viewers, 6 s held: CPU µs per packet sent / received, RSS per peer.
 *
 *   unshare -n sh -c 'ip link set lo up && exec npm run bench -- loadtest-whip'
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runLoadTest, type LoadTestResult } from '../../src/loadtest/runner.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { runBareSfu } from './support/bare-sfu.js';
import { BenchServer, fmt } from './support/child.js';
import { otherCore, pinProcess, pinToIdlestCore, processCpuMs } from './support/pin.js';

const HOLD_S = 6;
const RAMP = 50;
const PUBLISHERS = 150;
const VIEWERS = 300;
const STEPS = (process.argv[2] ?? '300,600,900').split(',').map(Number);

// Viewers held, as a user runs it, first (before this process pins itself or holds any
// connection: stepped after those, sessions were lost to peer-timeout that fresh processes never
// lose): the built CLI (`npm run build` first), a fresh server and a fresh `callpeer loadtest`
// process per step, every core shared.
const cli = path.join(import.meta.dirname, '..', '..', 'bin', 'callpeer.js');
if (!existsSync(path.join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: npm run build first');
for (const workers of [1, 2]) {
  let held = 0;
  for (const viewers of STEPS) {
    const port = await freePort();
    const serve = spawn(process.execPath, [cli, 'serve', '--port', String(port), '--topology', 'sfu', '--rtc-bind', '127.0.0.1', '--max-members', '1000', '--max-connections-per-ip', '0', '--log-level', 'error'], { stdio: 'ignore' });
    await waitForPort(port);
    const json = path.join(mkdtempSync(path.join(tmpdir(), 'bench-whip-')), 'run.json');
    const cpu0 = processCpuMs(serve.pid!);
    const t = performance.now();
    spawnSync(process.execPath, [cli, 'loadtest', '--whip', `http://127.0.0.1:${port}/whip/stage`, '--whep', `http://127.0.0.1:${port}/whep/stage`,
      '--publishers', '1', '--viewers', String(viewers), '--ramp', String(RAMP), '--duration', String(HOLD_S), '--workers', String(workers), '--json', json], { stdio: 'ignore' });
    const serverCpu = (processCpuMs(serve.pid!) - cpu0) / (performance.now() - t) * 100;
    serve.kill('SIGKILL');
    const r = JSON.parse(readFileSync(json, 'utf8')) as LoadTestResult;
    const s = r.summary;
    const ok = s.packets.lossPercent < 1 && s.tracks.received === s.tracks.expected && r.valid;
    const per = r.workers ? r.workers.map((w) => `#${w.worker} ${w.peers} peers ${(w.cpuPercent.p50 ?? 0).toFixed(0)} %`).join(', ') : `${(r.generator.cpuPercent.p50 ?? 0).toFixed(0)} %`;
    console.log(`--workers ${workers}, ${viewers} viewers: tracks ${s.tracks.received}/${s.tracks.expected}, loss ${s.packets.lossPercent.toFixed(2)} %, latency p50/p99 ${(s.latencyMs.p50 ?? 0).toFixed(1)}/${(s.latencyMs.p99 ?? 0).toFixed(1)} ms, `
      + `generator CPU ${per}, server CPU ${serverCpu.toFixed(0)} % (whole run), errors ${JSON.stringify(s.errors)}, ${r.valid ? 'valid' : `INVALID (${r.generator.reasons.join('; ')})`}`);
    if (!ok) break;
    held = viewers;
  }
  console.log(`--workers ${workers}: held ${held} WHEP viewers with < 1 % loss and a valid run`);
}


const { core, note } = await pinToIdlestCore();
const serverCore = core === undefined ? undefined : otherCore(core);
console.log(`generator ${note}; server${serverCore === undefined ? '' : ` and the baseline's far end on core ${serverCore}`}; ramp ${RAMP}/s, hold ${HOLD_S} s`);
const bare = await runBareSfu(100, HOLD_S, serverCore);
console.log(`baseline, bare node-datachannel, ${bare.peers} SFU-shaped peers: ${bare.usPerPacket.toFixed(2)} µs per packet handled (CPU ${bare.cpuPercent.toFixed(0)} %)`);

const server = await BenchServer.start('sfu');
if (serverCore !== undefined) pinProcess(server.child.pid!, serverCore);
const base = server.url.replace(/\/ws$/, '').replace(/^ws:/, 'http:');

/** Runs one WHIP/WHEP load; returns it and the generator's mean CPU over the held seconds. */
async function run(room: string, publishers: number, viewers: number, workers = 1): Promise<{ r: LoadTestResult; cpu: number; rssBefore: number }> {
  const held: number[] = [];
  const rssBefore = process.memoryUsage.rss() / 2 ** 20;
  const rampS = (publishers + viewers) / RAMP;
  const r = await runLoadTest({
    mode: 'whip', whipUrl: `${base}/whip/${room}`, ...(viewers > 0 && { whepUrl: `${base}/whep/${room}` }),
    publishers, viewers, rampPerSecond: RAMP, durationSeconds: HOLD_S, workers,
  }, { onProgress: (p) => { if (p.phase === 'holding' && p.t > rampS + 1.5) held.push(p.cpuPercent); } });
  return { r, cpu: held.reduce((a, b) => a + b, 0) / Math.max(1, held.length), rssBefore };
}

function line(what: string, r: LoadTestResult, cpu: number, pps: number, peers: number, rssBefore: number): void {
  const us = pps > 0 ? (cpu * 1e4) / pps : 0;
  const s = r.summary;
  const rssPerPeer = (((r.generator.rssMB.max ?? rssBefore) - rssBefore) * 1024) / peers;
  console.log(`${what}: ${s.peers.connected}/${s.peers.total} connected, ${fmt(pps, 0)} pkts/s, CPU ${cpu.toFixed(0)} % of the core, `
    + `${us.toFixed(2)} µs/packet (x${(us / bare.usPerPacket).toFixed(2)} of bare), RSS +${rssPerPeer.toFixed(0)} KiB per peer, `
    + `loss ${s.packets.lossPercent.toFixed(2)} %, setup offer/answer/connected p50 ${fmt(s.setup.offerMs.p50 ?? 0, 0)}/${fmt(s.setup.answerMs.p50 ?? 0, 0)}/${fmt(s.setup.iceConnectedMs.p50 ?? 0, 0)} ms, `
    + `p95 ${fmt(s.setup.offerMs.p95 ?? 0, 0)}/${fmt(s.setup.answerMs.p95 ?? 0, 0)}/${fmt(s.setup.iceConnectedMs.p95 ?? 0, 0)} ms, errors ${JSON.stringify(s.errors)}`);
}

const pub = await run('bench-pub', PUBLISHERS, 0);
line(`${PUBLISHERS} WHIP publishers (50 pkts/s sent each)`, pub.r, pub.cpu, PUBLISHERS * 50, PUBLISHERS, pub.rssBefore);
const view = await run('bench-view', 1, VIEWERS);
const received = view.r.summary.packets.received / Math.max(1, view.r.elapsedSeconds - VIEWERS / RAMP);
line(`1 publisher + ${VIEWERS} WHEP viewers (50 pkts/s received each)`, view.r, view.cpu, VIEWERS * 50, VIEWERS + 1, view.rssBefore);
console.log(`  (received over the run: ~${fmt(received, 0)} pkts/s; latency p50/p99 ${(view.r.summary.latencyMs.p50 ?? 0).toFixed(2)}/${(view.r.summary.latencyMs.p99 ?? 0).toFixed(2)} ms)`);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => { sock.destroy(); resolve(true); });
      sock.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the server on port ${port} did not start`);
}

server.stop();
cleanupRtc();
process.exit(0);
