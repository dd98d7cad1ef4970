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
import { cleanupRtc } from '../../src/rtc/peer.js';
import { runBareMesh } from './support/bare-mesh.js';
import { measureSetup, peersPerCore, printCapacity, stepUp, type Shape } from './support/capacity.js';
import { BenchServer, fmt } from './support/child.js';
import { pinToIdlestCore } from './support/pin.js';

const STEPS = (process.argv[2] ?? '60,120,160,200,250').split(',').map(Number);
/** 4 links x 50 packets/s, each way. */
const SHAPE: Shape = { room: 5, ramp: 50, holdS: 5, packetsPerPeer: 400, handledPerReceived: 2 };

const { note: pinned } = await pinToIdlestCore();
const bare = await runBareMesh((STEPS[0]! / SHAPE.room) * 10, SHAPE.holdS);
console.log(`baseline, bare node-datachannel: ${bare.links} links (= ${STEPS[0]} peers in rooms of ${SHAPE.room}), ${fmt(bare.packetsPerSecond, 0)} pkts/s, loss ${bare.lossPercent.toFixed(2)} %, `
  + `CPU ${bare.cpuPercent.toFixed(0)} %, ${bare.usPerPacket.toFixed(2)} µs/packet -> ${peersPerCore(bare.usPerPacket, SHAPE).toFixed(0)} peers per fully used core${bare.remade ? ` (${bare.remade} pairs remade)` : ''}`);
const server = await BenchServer.start('callpeer');
const url = server.url.replace(/\/ws$/, '');
console.log(`load generator ${pinned}; server in its own process; rooms of ${SHAPE.room}, ramp ${SHAPE.ramp}/s, hold ${SHAPE.holdS} s per step`);

let first: number | undefined;
const { sustained, last } = await stepUp(url, STEPS, SHAPE, 45_000, (s) => {
  first ??= s.usPerPacket;
  return `x${(s.usPerPacket / first).toFixed(2)} of the first step, x${(s.usPerPacket / bare.usPerPacket).toFixed(2)} of bare node-datachannel`;
});
printCapacity('audio peers', sustained, last, SHAPE, `bare node-datachannel ${peersPerCore(bare.usPerPacket, SHAPE).toFixed(0)}; a browser-based bot manages ~2 per core`);
await measureSetup(url, SHAPE, 'ICE connected');

server.stop();
cleanupRtc();
process.exit(0);
