/**
 * The load generator capacity benchmarks' shared steps (loadtest.bench.ts: mesh,
 * loadtest-sfu.bench.ts: SFU): one held step of rooms of 5, the step-up with its stop rules,
 * the capacity summary and the setup run. Only the traffic shape differs between them.
 */
import { runLoadTest, type ProgressSnapshot } from '../../../src/loadtest/runner.js';
import { type BenchServer, type ChildStats, fmt } from './child.js';

export interface Shape {
  /** Peers per room. */
  room: number;
  ramp: number;
  holdS: number;
  /** Packets a peer handles per second (sent + received). */
  packetsPerPeer: number;
  /** Packets handled per packet received (mesh 2: as many sent; SFU 1.25: one sent per 4 heard). */
  handledPerReceived: number;
  bindAddress?: string;
}

export const TARGET = 250;
/** Above this share of the core a step is past what the core sustains. */
export const CPU_STOP = 90;

export interface Step {
  peers: number;
  cpu: number;
  /** The server's CPU over the same seconds (% of one core), when it was watched. */
  serverCpu: number | undefined;
  usPerPacket: number;
  /** Packets the peers received per second during the hold (through an SFU: what it forwarded). */
  receivedPerSecond: number;
  latencyP50: number;
  latencyP99: number;
  loss: number;
  skipped: number;
  missing: boolean;
}

function cpuPercent(a: ChildStats, b: ChildStats, ms: number): number {
  return (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 10 / ms;
}

/** Holds `peers` peers for the shape's hold time and measures the seconds after the ramp. */
export async function measureStep(url: string, peers: number, shape: Shape, server?: BenchServer): Promise<Step> {
  const hold: ProgressSnapshot[] = [];
  const watched: { at: number; stats: Promise<ChildStats> }[] = [];
  const r = await runLoadTest(
    { url, rooms: peers / shape.room, peers: shape.room, rampPerSecond: shape.ramp, durationSeconds: shape.holdS, audio: 'tone',
      ...(shape.bindAddress !== undefined && { bindAddress: shape.bindAddress }) },
    {
      onProgress: (p) => {
        if (p.phase !== 'holding' || p.t <= peers / shape.ramp + 1.5) return;
        hold.push(p);
        if (server) watched.push({ at: performance.now(), stats: server.stats(false) });
      },
    },
  );
  const cpu = hold.reduce((n, p) => n + p.cpuPercent, 0) / Math.max(1, hold.length);
  const pps = (shape.handledPerReceived * hold.reduce((n, p) => n + p.packetsPerSecond, 0)) / Math.max(1, hold.length);
  const first = watched[0];
  const lastWatch = watched.at(-1);
  const serverCpu = first && lastWatch && lastWatch.at > first.at ? cpuPercent(await first.stats, await lastWatch.stats, lastWatch.at - first.at) : undefined;
  const s = r.summary;
  const g = r.generator;
  const step: Step = {
    peers, cpu, serverCpu, usPerPacket: pps > 0 ? (cpu * 1e4) / pps : 0, receivedPerSecond: pps / shape.handledPerReceived,
    latencyP50: s.latencyMs.p50 ?? 0, latencyP99: s.latencyMs.p99 ?? 0, loss: s.packets.lossPercent, skipped: g.pacerSkippedFrames,
    missing: s.tracks.received < s.tracks.expected,
  };
  console.log(`${String(peers).padStart(4)} peers  connected ${s.peers.connected}/${s.peers.total}  tracks ${s.tracks.received}/${s.tracks.expected}  `
    + `${fmt(pps, 0)} pkts/s  loss ${step.loss.toFixed(2)} %  CPU ${cpu.toFixed(0)} % of the core  ${step.usPerPacket.toFixed(2)} µs/packet  `
    + `${serverCpu === undefined ? '' : `server CPU ${serverCpu.toFixed(0)} %  `}RSS ${fmt(g.rssMB.max ?? 0, 0)} MB  `
    + `lag p99 ${(g.loopLagP99Ms.p50 ?? 0).toFixed(1)} ms (median of seconds)  pacer skipped ${step.skipped} frames  `
    + `latency p50/p99 ${(s.latencyMs.p50 ?? 0).toFixed(2)}/${(s.latencyMs.p99 ?? 0).toFixed(2)} ms  errors ${JSON.stringify(s.errors)}`);
  return step;
}

/**
 * Steps up until loss, missing tracks, a late pacer or CPU_STOP says stop (or the time budget
 * is spent); `compare` prints a step's ratios. Returns the peers held and the last step.
 */
export async function stepUp(
  url: string, steps: number[], shape: Shape, budgetMs: number, compare: (s: Step) => string, server?: BenchServer,
): Promise<{ sustained: number; last: Step | undefined }> {
  let sustained = 0;
  let last: Step | undefined;
  const started = performance.now();
  for (const peers of steps) {
    if (performance.now() - started > budgetMs) { console.log('time budget spent; stopping'); break; }
    const s = await measureStep(url, peers, shape, server);
    console.log(`      µs/packet ${compare(s)}`);
    last = s;
    // A pacer that skipped more than 1 % of the hold's frames sent less than real time: a loss too.
    const late = s.skipped > (shape.holdS * 50) / 100;
    if (s.loss >= 1 || s.missing || late || s.cpu >= CPU_STOP) {
      console.log(`stop: ${s.loss >= 1 ? 'loss >= 1 %' : s.missing ? 'tracks missing' : late ? 'the pacer fell behind (skipped frames)' : `CPU >= ${CPU_STOP} % of the core`}`);
      if (s.loss < 1 && !s.missing && !late) sustained = peers; // held, at the edge
      break;
    }
    sustained = peers;
  }
  return { sustained, last };
}

/** Peers one fully used core would carry at `usPerPacket`. */
export function peersPerCore(usPerPacket: number, shape: Shape): number {
  return usPerPacket > 0 ? 1e6 / (usPerPacket * shape.packetsPerPeer) : 0;
}

export function printCapacity(what: string, sustained: number, last: Step | undefined, shape: Shape, bareNote: string): void {
  const perCore = last ? peersPerCore(last.usPerPacket, shape) : 0;
  console.log(`sustained in this run: ${sustained} ${what} with < 1 % loss on one core (x${(sustained / TARGET).toFixed(2)} of the ${TARGET} target)`);
  console.log(`CPU cost: ${last?.usPerPacket.toFixed(2)} µs per packet at ${last?.peers} peers -> ${perCore.toFixed(0)} peers per fully used core (x${(perCore / TARGET).toFixed(2)} of the target; ${bareNote})`);
}

/** Setup figures with 100 peers joining at 20 per second. */
export async function measureSetup(url: string, shape: Shape, connectedLabel: string): Promise<void> {
  const setup = await runLoadTest({ url, rooms: 100 / shape.room, peers: shape.room, rampPerSecond: 20, durationSeconds: 3, audio: 'tone',
    ...(shape.bindAddress !== undefined && { bindAddress: shape.bindAddress }) });
  const f = setup.summary.setup;
  const ms = (v: number | null) => (v === null ? '-' : v.toFixed(0));
  console.log(`setup, 100 peers joining at 20/s: join p50/p95 ${ms(f.joinMs.p50)}/${ms(f.joinMs.p95)} ms, ${connectedLabel} ${ms(f.iceConnectedMs.p50)}/${ms(f.iceConnectedMs.p95)} ms, `
    + `first packet ${ms(f.firstPacketMs.p50)}/${ms(f.firstPacketMs.p95)} ms (n=${f.firstPacketMs.count}); connected ${setup.summary.peers.connected}/100, errors ${JSON.stringify(setup.summary.errors)}`);
}
