/**
 * `--workers N`: a load test spread over N processes on this machine, so the generator uses
 * every core. This process runs worker 0's part; N-1 children (worker-main.ts, by
 * child_process.fork) run the others. All ramp from one wall-clock start; when every part has
 * ramped, this process holds for the run's duration and tells the children to stop; each
 * sends back its part (figures, latency histogram, generator samples) over IPC. A child that
 * dies is counted (`worker-lost`) and the run goes on with the rest.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from '../log.js';
import { epochNow } from './media.js';
import type { LoadTestParams } from './params.js';
import { runPart, sleep, type PartResult, type Phase } from './part.js';
import type { GeneratorSample, PeerFigures } from './stats.js';

/** Parent → child. */
export type ToWorker =
  | { type: 'run'; params: LoadTestParams; worker: number; workers: number; t0Epoch: number; logLevel: string }
  | { type: 'stop' };

/** Child → parent. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'ramped' }
  | { type: 'tick'; figures: PeerFigures[]; sample: GeneratorSample; started: number }
  | { type: 'result'; result: PartResult };

export interface WorkersOptions {
  log: Logger;
  /** This process's part ticked (it drives the live view). */
  ownTick(figures: PeerFigures[], sample: GeneratorSample, phase: Phase, started: number): void;
  /** A child's part ticked. */
  onTick(worker: number, figures: PeerFigures[], sample: GeneratorSample, started: number): void;
  signal?: AbortSignal;
}

/** The child's entry: compiled JS next to this file, or the TypeScript source under tsx (tests). */
function workerEntry(): { file: string; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  return { file: new URL(`./worker-main.${ts ? 'ts' : 'js'}`, import.meta.url).pathname, execArgv: ts ? ['--import', 'tsx'] : [] };
}

interface Child {
  worker: number;
  process: ChildProcess;
  /** Its modules are loaded (it can start peers on time). */
  ready: Promise<void>;
  ramped: Promise<void>;
  result: Promise<PartResult | undefined>;
  run(t0Epoch: number): void;
}

function startChild(worker: number, params: LoadTestParams, o: WorkersOptions): Child {
  const entry = workerEntry();
  const child = fork(entry.file, [], { execArgv: entry.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let rampedNow: () => void = () => {};
  const ramped = new Promise<void>((resolve) => { rampedNow = resolve; });
  let readyNow: () => void = () => {};
  const ready = new Promise<void>((resolve) => { readyNow = resolve; });
  const result = new Promise<PartResult | undefined>((resolve) => {
    child.on('message', (m: FromWorker) => {
      if (m.type === 'ready') readyNow();
      else if (m.type === 'ramped') rampedNow();
      else if (m.type === 'tick') o.onTick(worker, m.figures, m.sample, m.started);
      else if (m.type === 'result') resolve(m.result);
    });
    child.once('exit', (code, signal) => {
      readyNow();
      rampedNow();
      resolve(undefined);
      if (code !== 0) o.log.error({ worker, code, signal }, 'load test worker died');
    });
  });
  // Test hooks are functions: they stay in this process (worker 0's part).
  const { hooks: _hooks, ...sendable } = params as LoadTestParams & { hooks?: unknown };
  const run = (t0Epoch: number) => {
    if (!child.connected) return;
    child.send({ type: 'run', params: sendable as LoadTestParams, worker, workers: params.workers, t0Epoch, logLevel: o.log.level } satisfies ToWorker);
  };
  return { worker, process: child, ready, ramped, result, run };
}

/** Time for the 'run' message to reach every child before the first peer is due, ms. */
const START_MARGIN_MS = 100;

/** A part for a child that died: its peers count as never joined, with the error. */
function lostPart(worker: number): PartResult {
  return { worker, total: 0, peers: [], latency: { buckets: [], count: 0, sum: 0, min: 0, max: 0 }, samples: [], skippedFrames: 0, topologies: [] };
}

/** Runs the test over `params.workers` processes; resolves with every part and the run's start (epoch ms). */
export async function runWorkers(params: LoadTestParams, o: WorkersOptions): Promise<{ parts: PartResult[]; t0Epoch: number }> {
  const children = Array.from({ length: params.workers - 1 }, (_, i) => startChild(i + 1, params, o));
  // The ramp starts once every child is loaded: one still compiling would start its peers late, in a burst.
  await Promise.all(children.map((c) => c.ready));
  const t0Epoch = epochNow() + START_MARGIN_MS;
  for (const c of children) c.run(t0Epoch);
  let stopNow: () => void = () => {};
  const stopped = new Promise<void>((resolve) => { stopNow = resolve; });
  const stopChildren = () => {
    for (const c of children) if (c.process.connected) c.process.send({ type: 'stop' } satisfies ToWorker);
  };
  o.signal?.addEventListener('abort', () => { stopChildren(); stopNow(); }, { once: true });
  const own = runPart(params, { worker: 0, workers: params.workers, t0Epoch }, {
    hold: () => stopped,
    ramped: () => {
      // Everyone ramped: hold the run's duration from here, then stop every part.
      void Promise.all(children.map((c) => c.ramped)).then(async () => {
        await sleep(params.durationSeconds * 1000, o.signal);
        stopChildren();
        stopNow();
      });
    },
    tick: o.ownTick,
    ...(o.signal && { signal: o.signal }),
  }, o.log);
  const results = await Promise.all([own, ...children.map((c) => c.result)]);
  const parts = results.map((r, i) => r ?? lostPart(i));
  const lost = parts.filter((p, i) => i > 0 && results[i] === undefined);
  if (lost.length > 0) {
    const first = parts[0]!;
    const peer0 = first.peers[0];
    if (peer0) peer0.errors['worker-lost'] = (peer0.errors['worker-lost'] ?? 0) + lost.length;
  }
  return { parts, t0Epoch };
}
