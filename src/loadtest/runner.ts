/**
 * Runs a load test: starts testers at `rampPerSecond`, holds everyone for `durationSeconds`
 * after the last one started, samples the generator (CPU, RSS, event-loop lag) and the
 * testers' counters once a second for the live view, then rolls the final counters up into
 * a result. With `workers` > 1 the peers are spread over that many processes (workers.ts),
 * each running its part (part.ts), and the parts are merged here as if one process ran them.
 *
 * The caller owns node-datachannel's lifetime: call `cleanupRtc()` once done with WebRTC
 * (the CLI does), since other PeerConnections may live in the same process.
 */
import { silentLogger, type Logger } from '../log.js';
import type { Topology } from '../protocol/signaling.js';
import { epochNow } from './media.js';
import { peerCount, validateParams, type LoadTestInput, type LoadTestParams, type PcmLoadParams, type WebRtcLoadParams, type WhipLoadParams } from './params.js';
import { runPart, sleep, type PartResult, type Phase } from './part.js';
import {
  checkThresholds, distribution, generatorFigures, LatencyHistogram, summarize,
  type GeneratorFigures, type GeneratorSample, type LoadSummary, type PeerFigures, type Violation,
} from './stats.js';
import { runWorkers } from './workers.js';

export type { Phase, Tester } from './part.js';

/** What the live view shows, once a second. */
export interface ProgressSnapshot {
  /** Seconds since the start. */
  t: number;
  phase: Phase;
  total: number;
  started: number;
  joined: number;
  /** Peers whose every link connected. */
  connected: number;
  tracksExpected: number;
  tracksReceived: number;
  /** Packets received per second over the last interval. */
  packetsPerSecond: number;
  /** kbit/s received over the last interval. */
  receivedKbps: number;
  lossPercent: number;
  /** Every worker's CPU together, percent of one core. */
  cpuPercent: number;
  /** Every worker's RSS together. */
  rssMB: number;
  loopLagP99Ms: number;
  errors: number;
}

/** One worker process's share of a `workers` > 1 run. */
export interface WorkerFigures {
  worker: number;
  peers: number;
  cpuPercent: GeneratorFigures['cpuPercent'];
  rssMB: GeneratorFigures['rssMB'];
  bottleneck: boolean;
}

/** Everything a run measured (the `--json` file; README "Load testing" documents it). */
export interface LoadTestResult {
  version: 1;
  mode: 'webrtc' | 'pcm' | 'whip';
  /** The rooms' topology as the server said (WebRTC; 'mixed' if rooms differed, null if none joined or PCM). */
  topology: Topology | 'mixed' | null;
  startedAt: string;
  /** Wall seconds from the first start to the final snapshot. */
  elapsedSeconds: number;
  /** The validated parameters (test hooks and token left out). */
  params: Omit<WebRtcLoadParams, 'hooks' | 'token'> | Omit<PcmLoadParams, 'token'> | Omit<WhipLoadParams, 'token' | 'headers'>;
  summary: LoadSummary;
  /** The generator's health: over every worker's samples (CPU and RSS per process). */
  generator: GeneratorFigures;
  /** With `workers` > 1: each process's share and health. */
  workers?: WorkerFigures[];
  /** False when the generator saturated (see generator.reasons): the figures may describe this machine, not the server. */
  valid: boolean;
  violations: Violation[];
  passed: boolean;
  peers: PeerFigures[];
}

export interface RunOptions {
  log?: Logger;
  /** Called about once a second with live figures. */
  onProgress?: (p: ProgressSnapshot) => void;
  /** Aborting ends the hold early (Ctrl-C); the result is still computed. */
  signal?: AbortSignal;
}

/** Folds the parts' latest figures into the live view's numbers. */
class Progress {
  private readonly latest = new Map<number, { figures: PeerFigures[]; sample: GeneratorSample; started: number }>();
  private lastPackets = 0;
  private lastBytes = 0;
  private lastAt = performance.now();

  constructor(private readonly total: number, private readonly options: RunOptions, private readonly log: Logger) {}

  update(worker: number, figures: PeerFigures[], sample: GeneratorSample, started: number): void {
    this.latest.set(worker, { figures, sample, started });
  }

  /** Reports once the part in this process ticked (the others' latest ticks go with it). */
  report(phase: Phase, t: number): void {
    if (!this.options.onProgress) return;
    const parts = [...this.latest.values()];
    const figures = parts.flatMap((p) => p.figures);
    const summary = summarize(figures, distribution([]));
    const bytes = figures.reduce((n, f) => f.streams.reduce((m, st) => m + st.bytes, n), 0);
    const now = performance.now();
    const interval = Math.max(1, now - this.lastAt);
    try {
      this.options.onProgress({
        t, phase, total: this.total, started: parts.reduce((n, p) => n + p.started, 0),
        joined: summary.peers.joined, connected: summary.peers.connected,
        tracksExpected: summary.tracks.expected, tracksReceived: summary.tracks.received,
        packetsPerSecond: ((summary.packets.received - this.lastPackets) * 1000) / interval,
        receivedKbps: ((bytes - this.lastBytes) * 8) / interval, lossPercent: summary.packets.lossPercent,
        cpuPercent: parts.reduce((n, p) => n + p.sample.cpuPercent, 0), rssMB: parts.reduce((n, p) => n + p.sample.rssMB, 0),
        loopLagP99Ms: Math.max(...parts.map((p) => p.sample.loopLagP99Ms)),
        errors: Object.values(summary.errors).reduce((n, v) => n + v, 0),
      });
    } catch (err) {
      this.log.error({ err }, 'onProgress listener threw'); // user code must not stop the run
    }
    this.lastPackets = summary.packets.received;
    this.lastBytes = bytes;
    this.lastAt = now;
  }
}

/** Runs one load test to its end and returns every figure; throws only on bad parameters. */
export async function runLoadTest(input: LoadTestInput | LoadTestParams, options: RunOptions = {}): Promise<LoadTestResult> {
  const params = validateParams(input as LoadTestInput);
  const log = options.log ?? silentLogger();
  let t0Epoch = epochNow();
  const progress = new Progress(peerCount(params), options, log);
  const ownTick = (figures: PeerFigures[], sample: GeneratorSample, phase: Phase, started: number) => {
    progress.update(0, figures, sample, started);
    progress.report(phase, sample.t);
  };
  let parts: PartResult[];
  if (params.workers > 1) {
    ({ parts, t0Epoch } = await runWorkers(params, { log, ownTick, onTick: (w, f, s, started) => progress.update(w, f, s, started), ...(options.signal && { signal: options.signal }) }));
  } else {
    const part = await runPart(params, { worker: 0, workers: 1, t0Epoch }, {
      hold: () => sleep(params.durationSeconds * 1000, options.signal),
      tick: ownTick,
      ...(options.signal && { signal: options.signal }),
    }, log);
    parts = [part];
  }
  return assemble(params, parts, new Date(t0Epoch).toISOString(), (epochNow() - t0Epoch) / 1000);
}

/** The parts as one run: peers in index order, one latency histogram, the generator over every worker. */
function assemble(params: LoadTestParams, parts: PartResult[], startedAt: string, elapsedSeconds: number): LoadTestResult {
  const peers = parts.flatMap((p) => p.peers).sort((a, b) => a.index - b.index);
  const latency = new LatencyHistogram();
  for (const p of parts) latency.merge(p.latency);
  const summary = summarize(peers, latency.distribution());
  const violations = checkThresholds(summary, params.thresholds);
  const perWorker = parts.map((p) => ({ part: p, figures: generatorFigures(p.samples, p.skippedFrames) }));
  const generator = generatorFigures(parts.flatMap((p) => p.samples), parts.reduce((n, p) => n + p.skippedFrames, 0));
  if (parts.length > 1) {
    // One saturated worker is enough to cast doubt on the run.
    generator.reasons = perWorker.flatMap(({ part, figures }) => figures.reasons.map((r) => `worker ${part.worker}: ${r}`));
    generator.bottleneck = generator.reasons.length > 0;
  }
  // Test hooks are code, and a token or headers may be secrets: none goes into a report file.
  const { hooks: _hooks, token: _token, headers: _headers, ...rest } = params as LoadTestParams & { hooks?: unknown; headers?: unknown };
  const topologies = new Set(parts.flatMap((p) => p.topologies));
  return {
    version: 1,
    mode: params.mode,
    topology: topologies.size > 1 ? 'mixed' : ([...topologies][0] ?? null),
    startedAt,
    elapsedSeconds,
    params: rest as LoadTestResult['params'],
    summary,
    generator,
    ...(parts.length > 1 && {
      workers: perWorker.map(({ part, figures }) => ({ worker: part.worker, peers: part.total, cpuPercent: figures.cpuPercent, rssMB: figures.rssMB, bottleneck: figures.bottleneck })),
    }),
    valid: !generator.bottleneck,
    violations,
    passed: violations.length === 0,
    peers,
  };
}
