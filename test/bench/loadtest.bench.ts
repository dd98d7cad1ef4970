/**
 * Load generator capacity: how many audio peers one `callpeer loadtest` process sustains on
 * ONE core with < 1 % loss, in mesh rooms of 5 (each peer publishes 1 Opus stream and hears
 * 4; in a mesh it sends its stream on each of its 4 links, so 200 packets/s out and 200 in).
 * The process pins itself (every thread, node-datachannel's included) to the idler of the
 * machine's cores; the server runs in its own process (signaling only: mesh media goes peer
 * to peer). Steps up until loss, CPU or a late pacer says stop. Then: setup time p50/p95
 * with 100 peers joining at 20 per second.
 *
 * On a shared machine a neighbour on the same core starves the generator (its pacer skips
 * frames) without it using more CPU. So the figure that does not depend on neighbours is the
 * CPU cost per packet measured during each hold, and the capacity it implies for a whole core;
 * the stepped result says what held on this machine in this run.
 * Baselines (same run): bare node-datachannel moving the same mesh traffic for the first
 * step's links (support/bare-mesh.ts: the floor no code above the library goes under), and
 * the first step (µs per packet at each step against it: 1.0 = linear scaling).
 * Mesh cannot reach the 250 target here: even the bare floor implies fewer per core. The
 * SFU shape (each stream sent once) is loadtest-sfu.bench.ts.
 *
 * Run: node --import tsx test/bench/loadtest.bench.ts [steps, default 60,120,160,200,250]
 * (LOADTEST_BENCH_PIN=0 leaves the process unpinned, for a machine whose cores are all busy)
 */
import { runLoadTest, type ProgressSnapshot } from '../../src/loadtest/runner.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { BenchServer, fmt } from './support/child.js';
import { runBareMesh } from './support/bare-mesh.js';
import { pinToIdlestCore } from './support/pin.js';

const STEPS = (process.argv[2] ?? '60,120,160,200,250').split(',').map(Number);
const ROOM = 5;
const HOLD_S = 5;
const RAMP = 50;
const TARGET = 250;
/** Packets a peer moves per second: 4 links x 50 packets/s, each way. */
const PACKETS_PER_PEER = 400;
/** Above this share of the core a step is past what the core sustains. */
const CPU_STOP = 90;

interface Step { peers: number; cpu: number; usPerPacket: number; loss: number; skipped: number; missing: boolean }

async function step(url: string, peers: number): Promise<Step> {
  const hold: ProgressSnapshot[] = [];
  const r = await runLoadTest(
    { url, rooms: peers / ROOM, peers: ROOM, rampPerSecond: RAMP, durationSeconds: HOLD_S, audio: 'tone' },
    { onProgress: (p) => { if (p.phase === 'holding' && p.t > peers / RAMP + 1.5) hold.push(p); } },
  );
  const cpu = hold.reduce((n, p) => n + p.cpuPercent, 0) / Math.max(1, hold.length);
  // Sent ≈ received (no loss): CPU µs per packet handled, either way.
  const pps = (2 * hold.reduce((n, p) => n + p.packetsPerSecond, 0)) / Math.max(1, hold.length);
  const s = r.summary;
  const g = r.generator;
  const res: Step = {
    peers, cpu, usPerPacket: pps > 0 ? (cpu * 1e4) / pps : 0, loss: s.packets.lossPercent, skipped: g.pacerSkippedFrames,
    missing: s.tracks.received < s.tracks.expected,
  };
  console.log(`${String(peers).padStart(4)} peers  connected ${s.peers.connected}/${s.peers.total}  tracks ${s.tracks.received}/${s.tracks.expected}  `
    + `${fmt(pps, 0)} pkts/s  loss ${res.loss.toFixed(2)} %  CPU ${cpu.toFixed(0)} % of the core  ${res.usPerPacket.toFixed(2)} µs/packet  `
    + `RSS ${fmt(g.rssMB.max ?? 0, 0)} MB  lag p99 ${(g.loopLagP99Ms.p50 ?? 0).toFixed(1)} ms (median of seconds)  pacer skipped ${res.skipped} frames  `
    + `latency p50/p99 ${(s.latencyMs.p50 ?? 0).toFixed(2)}/${(s.latencyMs.p99 ?? 0).toFixed(2)} ms  errors ${JSON.stringify(s.errors)}`);
  return res;
}

const { note: pinned } = await pinToIdlestCore();
const bare = await runBareMesh((STEPS[0]! / ROOM) * 10, HOLD_S);
console.log(`baseline, bare node-datachannel: ${bare.links} links (= ${STEPS[0]} peers in rooms of ${ROOM}), ${fmt(bare.packetsPerSecond, 0)} pkts/s, loss ${bare.lossPercent.toFixed(2)} %, `
  + `CPU ${bare.cpuPercent.toFixed(0)} %, ${bare.usPerPacket.toFixed(2)} µs/packet -> ${(1e6 / (bare.usPerPacket * PACKETS_PER_PEER)).toFixed(0)} peers per fully used core${bare.remade ? ` (${bare.remade} pairs remade)` : ''}`);
const server = await BenchServer.start('callpeer');
const url = server.url.replace(/\/ws$/, '');
console.log(`load generator ${pinned}; server in its own process; rooms of ${ROOM}, ramp ${RAMP}/s, hold ${HOLD_S} s per step`);

let sustained = 0;
let baseline: number | undefined;
let last: Step | undefined;
const started = performance.now();
for (const peers of STEPS) {
  if (performance.now() - started > 45_000) { console.log('time budget spent; stopping'); break; }
  const s = await step(url, peers);
  baseline ??= s.usPerPacket;
  console.log(`      µs/packet x${(s.usPerPacket / baseline).toFixed(2)} of the first step, x${(s.usPerPacket / bare.usPerPacket).toFixed(2)} of bare node-datachannel`);
  last = s;
  // A pacer that skipped more than 1 % of the hold's frames sent less than real time: a loss too.
  const late = s.skipped > (HOLD_S * 50) / 100;
  if (s.loss >= 1 || s.missing || late || s.cpu >= CPU_STOP) {
    console.log(`stop: ${s.loss >= 1 ? 'loss >= 1 %' : s.missing ? 'tracks missing' : late ? 'the pacer fell behind (skipped frames)' : `CPU >= ${CPU_STOP} % of the core`}`);
    if (s.loss < 1 && !s.missing && !late) sustained = peers; // held, at the edge
    break;
  }
  sustained = peers;
}
const perCore = last && last.usPerPacket > 0 ? 1e6 / (last.usPerPacket * PACKETS_PER_PEER) : 0;
console.log(`sustained in this run: ${sustained} audio peers with < 1 % loss on one core (x${(sustained / TARGET).toFixed(2)} of the ${TARGET} target)`);
console.log(`CPU cost: ${last?.usPerPacket.toFixed(2)} µs per packet at ${last?.peers} peers -> ${perCore.toFixed(0)} peers per fully used core (x${(perCore / TARGET).toFixed(2)} of the target; a browser-based bot manages ~2 per core: x${(perCore / 2).toFixed(0)})`);

const setup = await runLoadTest({ url, rooms: 20, peers: ROOM, rampPerSecond: 20, durationSeconds: 3, audio: 'tone' });
const f = setup.summary.setup;
const ms = (v: number | null) => (v === null ? '-' : v.toFixed(0));
console.log(`setup, 100 peers joining at 20/s: join p50/p95 ${ms(f.joinMs.p50)}/${ms(f.joinMs.p95)} ms, ICE connected ${ms(f.iceConnectedMs.p50)}/${ms(f.iceConnectedMs.p95)} ms, `
  + `first packet ${ms(f.firstPacketMs.p50)}/${ms(f.firstPacketMs.p95)} ms (n=${f.firstPacketMs.count}); connected ${setup.summary.peers.connected}/100, errors ${JSON.stringify(setup.summary.errors)}`);

server.stop();
cleanupRtc();
process.exit(0);
