/**
 * `serve --workers N|auto`: N server processes behind one port (node:cluster: the primary
 * accepts and hands connections round-robin to its workers). Each worker is a node of the
 * cluster: with --redis they share rooms through Redis, without it through the primary, which
 * keeps the directory and routes the nodes' messages (src/cluster/ipc.ts). A worker that dies
 * is replaced; its rooms' members elsewhere are dropped with 1001 and re-join.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Broker } from '../cluster/ipc.js';
import { CallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import { systemClock } from '../time/clock.js';

/** `--workers` (env CALLPEER_WORKERS): a count from 1, or `auto` for one per core. */
export function workerCount(value: string | undefined): number {
  if (value === undefined) return 1;
  if (value === 'auto') return os.availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new CallpeerError('INVALID_CONFIG', `--workers (CALLPEER_WORKERS) must be a count from 1 or "auto" (got "${value}")`, { hint: 'use --workers auto for one process per core' });
  }
  return n;
}

/** Runs the primary: forks `count` workers, brokers them when there is no Redis, stops them on SIGINT/SIGTERM. */
export function runPrimary(count: number, options: { redis: boolean; log: Logger; scheme: 'http' | 'https' }): void {
  const { log } = options;
  const broker = options.redis ? undefined : new Broker(systemClock, log.child({ component: 'broker' }));
  const workers = new Set<Worker>();
  let stopping = false;
  const fork = (): void => {
    const nodeId = `w-${randomBytes(3).toString('hex')}`;
    const worker = cluster.fork({ CALLPEER_NODE_ID: nodeId });
    workers.add(worker);
    // A message to a worker that is exiting fails on its channel: logged, never the primary's end.
    worker.on('error', (err) => log.debug({ err, node: nodeId }, 'worker channel error'));
    broker?.attach(nodeId, worker);
    worker.on('exit', (code, signal) => {
      workers.delete(worker);
      broker?.detach(nodeId);
      if (stopping) {
        if (workers.size === 0) process.exit(0);
        return;
      }
      log.warn({ node: nodeId, code, signal }, 'a worker died; starting another');
      fork();
    });
  };
  for (let i = 0; i < count; i++) fork();
  log.info({ workers: count, cluster: options.redis ? 'redis' : 'workers' }, 'started workers');
  // On a terminal, once: where to point a browser (the workers share the primary's port).
  cluster.once('listening', (_worker, address) => {
    const host = !address.address || address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : address.address;
    if (process.stderr.isTTY) process.stderr.write(`callpeer: ${count} workers; open ${options.scheme}://${host}:${address.port}/ in a browser\n`);
  });
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping workers');
    for (const w of workers) w.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 2500).unref();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

/** In a worker: its node id (the primary named it) and whether it is one. */
export function workerNode(): string | undefined {
  return cluster.isWorker ? process.env.CALLPEER_NODE_ID : undefined;
}
