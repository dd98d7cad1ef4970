/**
 * Load generator capacity against an SFU: how many audio peers (1 published + 4 subscribed
 * streams each: rooms of 5, everyone publishes) one `callpeer loadtest` process sustains on
 * ONE core with < 1 % loss. Target >= 250. The generator pins itself (every thread) to the
 * idler core and the server (`serve --topology sfu`, which forwards 4 copies of every
 * stream) to the other. Each peer sends 50 packets/s and receives 200.
 * Baseline (same run): bare node-datachannel moving the same traffic shape
 * (support/bare-sfu.ts): the floor no code above the library can go under. Then steps up
 * until loss, missing tracks, a late pacer or 90 % of the core stops it, and reports setup
 * p50/p95 with 100 peers joining at 20 per second.
 *
 *   unshare -n sh -c 'ip link set lo up && exec npm run bench -- loadtest-sfu'
 *   (argv[2]: steps, default 150,200,250,300)
 */
import { runLoadTest, type ProgressSnapshot } from '../../src/loadtest/runner.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { runBareSfu } from './support/bare-sfu.js';
import { BenchServer, fmt } from './support/child.js';
import { otherCore, pinProcess, pinToIdlestCore } from './support/pin.js';

const STEPS = (process.argv[2] ?? '150,200,250,300').split(',').map(Number);
const ROOM = 5;
const HOLD_S = 6;
const RAMP = 50;
const TARGET = 250;
/** Packets a peer handles per second: 50 sent, 4 x 50 received. */
const PACKETS_PER_PEER = 250;
const CPU_STOP = 90;
const BARE_PEERS = 200;

interface Step { peers: number; cpu: number; serverCpu: number; usPerPacket: number; loss: number; skipped: number; missing: boolean }

async function step(server: BenchServer, url: string, peers: number): Promise<Step> {
  const hold: ProgressSnapshot[] = [];
  let s0: Awaited<ReturnType<BenchServer['stats']>> | undefined;
  let t0 = 0;
  let s1: Awaited<ReturnType<BenchServer['stats']>> | undefined;
  let t1 = 0;
  const r = await runLoadTest(
    { url, rooms: peers / ROOM, peers: ROOM, rampPerSecond: RAMP, durationSeconds: HOLD_S, audio: 'tone', bindAddress: '127.0.0.1' },
    {
      onProgress: (p) => {
        if (p.phase !== 'holding' || p.t <= peers / RAMP + 1.5) return;
        hold.push(p);
        // The server's own CPU over the same seconds.
        if (!s0) { t0 = performance.now(); void server.stats().then((s) => { s0 = s; }); } else { t1 = performance.now(); void server.stats().then((s) => { s1 = s; }); }
      },
    },
  );
  const cpu = hold.reduce((n, p) => n + p.cpuPercent, 0) / Math.max(1, hold.length);
  // Received per second, plus what we sent: a quarter of it (each stream reaches 4 listeners).
  const pps = (1.25 * hold.reduce((n, p) => n + p.packetsPerSecond, 0)) / Math.max(1, hold.length);
  const serverCpu = s0 && s1 && t1 > t0 ? ((s1.cpu.user + s1.cpu.system - s0.cpu.user - s0.cpu.system) / 10 / (t1 - t0)) : NaN;
  const s = r.summary;
  const g = r.generator;
  const res: Step = {
    peers, cpu, serverCpu, usPerPacket: pps > 0 ? (cpu * 1e4) / pps : 0, loss: s.packets.lossPercent, skipped: g.pacerSkippedFrames,
    missing: s.tracks.received < s.tracks.expected,
  };
  console.log(`${String(peers).padStart(4)} peers  connected ${s.peers.connected}/${s.peers.total}  tracks ${s.tracks.received}/${s.tracks.expected}  `
    + `${fmt(pps, 0)} pkts/s  loss ${res.loss.toFixed(2)} %  CPU ${cpu.toFixed(0)} % of the core  ${res.usPerPacket.toFixed(2)} µs/packet  `
    + `server CPU ${Number.isNaN(serverCpu) ? '-' : serverCpu.toFixed(0)} %  RSS ${fmt(g.rssMB.max ?? 0, 0)} MB  pacer skipped ${res.skipped} frames  `
    + `latency p50/p99 ${(s.latencyMs.p50 ?? 0).toFixed(2)}/${(s.latencyMs.p99 ?? 0).toFixed(2)} ms  errors ${JSON.stringify(s.errors)}`);
  return res;
}

const { core, note } = await pinToIdlestCore();
const serverCore = core === undefined ? undefined : otherCore(core);
console.log(`load generator ${note}; SFU server${serverCore === undefined ? '' : ` and the baseline's far end pinned to core ${serverCore}`}; rooms of ${ROOM}, ramp ${RAMP}/s, hold ${HOLD_S} s per step`);

const bare = await runBareSfu(BARE_PEERS, HOLD_S, serverCore);
const barePerCore = 1e6 / (bare.usPerPacket * PACKETS_PER_PEER);
console.log(`baseline, bare node-datachannel, ${bare.peers} peers (${bare.connected} connected): ${fmt(bare.sentPerSecond + bare.receivedPerSecond, 0)} pkts/s, `
  + `CPU ${bare.cpuPercent.toFixed(0)} %, ${bare.usPerPacket.toFixed(2)} µs/packet -> ${barePerCore.toFixed(0)} peers per fully used core`);

const server = await BenchServer.start('sfu');
if (serverCore !== undefined) pinProcess(server.child.pid!, serverCore);
const url = server.url.replace(/\/ws$/, '');
let sustained = 0;
let last: Step | undefined;
const started = performance.now();
for (const peers of STEPS) {
  if (performance.now() - started > 60_000) { console.log('time budget spent; stopping'); break; }
  const s = await step(server, url, peers);
  console.log(`      µs/packet x${(s.usPerPacket / bare.usPerPacket).toFixed(2)} of bare node-datachannel`);
  last = s;
  const late = s.skipped > (HOLD_S * 50) / 100;
  if (s.loss >= 1 || s.missing || late || s.cpu >= CPU_STOP) {
    console.log(`stop: ${s.loss >= 1 ? 'loss >= 1 %' : s.missing ? 'tracks missing' : late ? 'the pacer fell behind (skipped frames)' : `CPU >= ${CPU_STOP} % of the core`}`);
    if (s.loss < 1 && !s.missing && !late) sustained = peers;
    break;
  }
  sustained = peers;
}
const perCore = last && last.usPerPacket > 0 ? 1e6 / (last.usPerPacket * PACKETS_PER_PEER) : 0;
console.log(`sustained in this run: ${sustained} audio peers (1 published + 4 subscribed) with < 1 % loss on one core (x${(sustained / TARGET).toFixed(2)} of the ${TARGET} target)`);
console.log(`CPU cost: ${last?.usPerPacket.toFixed(2)} µs per packet at ${last?.peers} peers -> ${perCore.toFixed(0)} peers per fully used core (x${(perCore / TARGET).toFixed(2)} of the target; bare node-datachannel ${barePerCore.toFixed(0)})`);

const setup = await runLoadTest({ url, rooms: 20, peers: ROOM, rampPerSecond: 20, durationSeconds: 3, audio: 'tone', bindAddress: '127.0.0.1' });
const f = setup.summary.setup;
const ms = (v: number | null) => (v === null ? '-' : v.toFixed(0));
console.log(`setup, 100 peers joining at 20/s: join p50/p95 ${ms(f.joinMs.p50)}/${ms(f.joinMs.p95)} ms, connected to the SFU ${ms(f.iceConnectedMs.p50)}/${ms(f.iceConnectedMs.p95)} ms, `
  + `first packet ${ms(f.firstPacketMs.p50)}/${ms(f.firstPacketMs.p95)} ms (n=${f.firstPacketMs.count}); connected ${setup.summary.peers.connected}/100, errors ${JSON.stringify(setup.summary.errors)}`);

server.stop();
cleanupRtc();
process.exit(0);
