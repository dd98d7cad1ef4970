/**
 * A load test worker process (workers.ts forks it): runs its part of the run the parent
 * describes, ticks once a second, holds until told to stop, sends its part back and exits.
 * Ctrl-C reaches the whole process group: the parent decides when to stop, so SIGINT is ignored.
 */
import type { LevelWithSilent } from 'pino';
import { createLogger } from '../log.js';
import { cleanupRtc, releaseClosedPeerNatives } from '../rtc/peer.js';
import { runPart } from './part.js';
import type { FromWorker, ToWorker } from './workers.js';

process.on('SIGINT', () => {});
const send = (m: FromWorker) => new Promise<void>((resolve) => process.send!(m, () => resolve()));

void send({ type: 'ready' });
process.once('message', (m: ToWorker) => {
  if (m.type !== 'run') return;
  const log = createLogger({ level: m.logLevel as LevelWithSilent, destination: process.stderr }).child({ worker: m.worker });
  let stopNow: () => void = () => {};
  const stopped = new Promise<void>((resolve) => { stopNow = resolve; });
  process.on('message', (x: ToWorker) => { if (x.type === 'stop') stopNow(); });
  // The parent going away is a stop too.
  process.once('disconnect', () => stopNow());
  releaseClosedPeerNatives();
  void runPart(m.params, { worker: m.worker, workers: m.workers, t0Epoch: m.t0Epoch }, {
    hold: () => stopped,
    ramped: () => void send({ type: 'ramped' }),
    tick: (figures, sample, _phase, started) => void send({ type: 'tick', figures, sample, started }),
  }, log).then(async (result) => {
    if (process.connected) await send({ type: 'result', result });
    cleanupRtc();
    process.exit(0);
  }, (err: unknown) => {
    log.error({ err }, 'load test worker failed');
    process.exit(1);
  });
});
