/**
 * The cluster on one machine without Redis (`serve --workers N`): the primary process is the
 * broker. It keeps the directory in memory (MemoryDirectory) and routes bus messages between
 * its workers; each worker reaches it over the IPC channel node:cluster gives it. A worker that
 * exits leaves the directory at once (its rooms' remote members are dropped on the next beat).
 */
import { CallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock } from '../time/clock.js';
import { MemoryDirectory } from './memory-directory.js';
import type { BusPort, ClusterTransport, DirectoryPort, NodeInfo } from './ports.js';
import type { NodeMessage } from './wire.js';

/** How long a directory call may wait for the primary, ms. */
const CALL_TIMEOUT_MS = 5000;

type DirectoryOp = 'beat' | 'alive' | 'nodes' | 'claim' | 'ownerOf' | 'release' | 'leave' | 'hold' | 'takeOrWait' | 'unlist';

/** What a worker and the primary say to each other (tagged: node:cluster has messages of its own). */
export type IpcMessage =
  | { callpeer: 'dir'; id: number; op: DirectoryOp; args: unknown[] }
  | { callpeer: 'dir-result'; id: number; result?: unknown; error?: string }
  | { callpeer: 'bus'; to: string; message: NodeMessage }
  /** A binary bus frame, base64: node:cluster's IPC channel carries JSON. */
  | { callpeer: 'frame'; to: string; data: string };

/** The process side of an IPC channel: `process` in a worker, a cluster Worker in the primary. */
export interface IpcEndpoint {
  send(message: IpcMessage): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

function isIpcMessage(m: unknown): m is IpcMessage {
  return typeof m === 'object' && m !== null && typeof (m as { callpeer?: unknown }).callpeer === 'string';
}

/** A worker's transport: directory calls and bus messages go to the primary. */
export function ipcTransport(endpoint: IpcEndpoint, log: Logger, ttlMs = 3000): ClusterTransport {
  let next = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let handler: ((m: NodeMessage) => void) | undefined;
  let frameHandler: ((frame: Buffer) => void) | undefined;
  endpoint.on('message', (m) => {
    if (!isIpcMessage(m)) return;
    if (m.callpeer === 'dir-result') {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new CallpeerError('CONNECTION_FAILED', `cluster primary: ${m.error}`));
      else p?.resolve(m.result);
    } else if (m.callpeer === 'bus') {
      handler?.(m.message);
    } else if (m.callpeer === 'frame') {
      frameHandler?.(Buffer.from(m.data, 'base64'));
    }
  });
  const call = <T>(op: DirectoryOp, ...args: unknown[]): Promise<T> => new Promise((resolve, reject) => {
    const id = ++next;
    // A primary that is gone never answers: the beat reports it rather than hanging.
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new CallpeerError('TIMEOUT', `cluster primary did not answer "${op}"`));
    }, CALL_TIMEOUT_MS);
    timer.unref();
    pending.set(id, {
      resolve: (v) => { clearTimeout(timer); resolve(v as T); },
      reject: (e) => { clearTimeout(timer); reject(e); },
    });
    endpoint.send({ callpeer: 'dir', id, op, args });
  });
  const directory: DirectoryPort = {
    ttlMs,
    beat: (node, rooms) => call('beat', node, [...rooms]),
    alive: (nodeId) => call('alive', nodeId),
    nodes: () => call<NodeInfo[]>('nodes'),
    claim: (roomId, candidate) => call('claim', roomId, candidate),
    ownerOf: (roomId) => call<string | null>('ownerOf', roomId).then((o) => o ?? undefined),
    release: (roomId, nodeId) => call('release', roomId, nodeId),
    leave: (nodeId) => call('leave', nodeId),
    hold: (nodeId, keys) => call('hold', nodeId, [...keys]),
    takeOrWait: (queue, entry) => call<string | null>('takeOrWait', queue, entry).then((e) => e ?? undefined),
    unlist: (queue, entry) => call('unlist', queue, entry),
  };
  const bus: BusPort = {
    onMessage: (h) => { handler = h; },
    send: async (to, message) => {
      endpoint.send({ callpeer: 'bus', to, message });
    },
    onFrame: (h) => { frameHandler = h; },
    sendFrame: (to, frame) => {
      try {
        endpoint.send({ callpeer: 'frame', to, data: frame.toString('base64') });
      } catch (err) {
        log.debug({ err, to }, 'cluster primary unreachable');
      }
    },
  };
  return { name: 'workers', directory, bus, close: async () => undefined };
}

/** The primary's side: the directory its workers share, and the router of their bus messages. */
export class Broker {
  readonly directory: MemoryDirectory;
  private readonly workers = new Map<string, IpcEndpoint>();

  constructor(clock: Clock, private readonly log: Logger, ttlMs = 3000) {
    this.directory = new MemoryDirectory(clock, ttlMs);
  }

  /** A worker that is node `nodeId`. */
  attach(nodeId: string, worker: IpcEndpoint): void {
    this.workers.set(nodeId, worker);
    worker.on('message', (m) => {
      if (isIpcMessage(m)) void this.serve(worker, m);
    });
  }

  /** The worker is gone (exited or killed): it leaves the directory now, not at its TTL. */
  detach(nodeId: string): void {
    this.workers.delete(nodeId);
    void this.directory.leave(nodeId);
  }

  private async serve(worker: IpcEndpoint, m: IpcMessage): Promise<void> {
    if (m.callpeer === 'bus' || m.callpeer === 'frame') {
      const to = this.workers.get(m.to);
      if (to) to.send(m);
      else this.log.debug({ to: m.to }, 'bus message for a node that is gone');
      return;
    }
    if (m.callpeer !== 'dir') return;
    try {
      const d = this.directory as unknown as Record<DirectoryOp, (...args: unknown[]) => Promise<unknown>>;
      const result = await d[m.op]!.apply(this.directory, m.args);
      worker.send({ callpeer: 'dir-result', id: m.id, result: result ?? null });
    } catch (err) {
      worker.send({ callpeer: 'dir-result', id: m.id, error: (err as Error).message });
    }
  }
}
