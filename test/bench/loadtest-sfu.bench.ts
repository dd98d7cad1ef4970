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
import { cleanupRtc } from '../../src/rtc/peer.js';
import { runBareSfu } from './support/bare-sfu.js';
import { measureSetup, peersPerCore, printCapacity, stepUp, type Shape } from './support/capacity.js';
import { BenchServer, fmt } from './support/child.js';
import { otherCore, pinProcess, pinToIdlestCore } from './support/pin.js';

const STEPS = (process.argv[2] ?? '150,200,250,300').split(',').map(Number);
/** 50 packets/s sent, 4 x 50 received; each stream sent reaches 4 listeners. */
const SHAPE: Shape = { room: 5, ramp: 50, holdS: 6, packetsPerPeer: 250, handledPerReceived: 1.25, bindAddress: '127.0.0.1' };
const BARE_PEERS = 200;

const { core, note } = await pinToIdlestCore();
const serverCore = core === undefined ? undefined : otherCore(core);
console.log(`load generator ${note}; SFU server${serverCore === undefined ? '' : ` and the baseline's far end pinned to core ${serverCore}`}; rooms of ${SHAPE.room}, ramp ${SHAPE.ramp}/s, hold ${SHAPE.holdS} s per step`);

const bare = await runBareSfu(BARE_PEERS, SHAPE.holdS, serverCore);
const barePerCore = peersPerCore(bare.usPerPacket, SHAPE);
console.log(`baseline, bare node-datachannel, ${bare.peers} peers (${bare.connected} connected): ${fmt(bare.sentPerSecond + bare.receivedPerSecond, 0)} pkts/s, `
  + `CPU ${bare.cpuPercent.toFixed(0)} %, ${bare.usPerPacket.toFixed(2)} µs/packet -> ${barePerCore.toFixed(0)} peers per fully used core`);

const server = await BenchServer.start('sfu');
if (serverCore !== undefined) pinProcess(server.child.pid!, serverCore);
const url = server.url.replace(/\/ws$/, '');
const { sustained, last } = await stepUp(url, STEPS, SHAPE, 60_000, (s) => `x${(s.usPerPacket / bare.usPerPacket).toFixed(2)} of bare node-datachannel`, server);
printCapacity('audio peers (1 published + 4 subscribed)', sustained, last, SHAPE, `bare node-datachannel ${barePerCore.toFixed(0)}`);
await measureSetup(url, SHAPE, 'connected to the SFU');

server.stop();
cleanupRtc();
process.exit(0);
