/**
 * Requests from one node to another over the bus: `call(node, method, args)` resolves with what
 * the other node's handler for `method` returns, or rejects with its CallpeerError (same code
 * and message) or INTERNAL when it does not answer in time. Features that span nodes (joins,
 * the room API, PCM pairing) each serve their methods here instead of adding bus messages.
 */
import { CallpeerError, toCallpeerError, type ErrorCode } from '../errors.js';
import type { NodeMessage } from './wire.js';

export type CallHandler = (args: any, from: string) => unknown;

export class NodeCalls {
  private readonly handlers = new Map<string, CallHandler>();
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private next = 0;

  constructor(
    private readonly nodeId: string,
    private readonly send: (nodeId: string, message: NodeMessage) => void,
    private readonly timeoutMs = 5000,
  ) {}

  serve(method: string, handler: CallHandler): void {
    this.handlers.set(method, handler);
  }

  call<T>(nodeId: string, method: string, args: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const rpc = ++this.next;
      const timer = setTimeout(() => {
        this.pending.delete(rpc);
        reject(new CallpeerError('INTERNAL', `node ${nodeId} did not answer "${method}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(rpc, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.send(nodeId, { t: 'call', from: this.nodeId, rpc, method, args });
    });
  }

  /** A `call` or `reply` from the bus. */
  receive(m: Extract<NodeMessage, { t: 'call' | 'reply' }>): void {
    if (m.t === 'reply') {
      const p = this.pending.get(m.rpc);
      if (!p) return;
      this.pending.delete(m.rpc);
      clearTimeout(p.timer);
      if (m.error) {
        const { code, message, hint, ref } = m.error;
        p.reject(new CallpeerError(code as ErrorCode, message, { ...(hint !== undefined && { hint }), ...(ref !== undefined && { ref }) }));
      }
      else p.resolve(m.result);
      return;
    }
    void this.answer(m);
  }

  private async answer(m: Extract<NodeMessage, { t: 'call' }>): Promise<void> {
    try {
      const handler = this.handlers.get(m.method);
      if (!handler) throw new CallpeerError('INTERNAL', `node ${this.nodeId} has no "${m.method}"`);
      const result = await handler(m.args, m.from);
      this.send(m.from, { t: 'reply', rpc: m.rpc, result: result ?? null });
    } catch (err) {
      const e = toCallpeerError(err);
      this.send(m.from, { t: 'reply', rpc: m.rpc, error: { code: e.code, message: e.message, ...(e.hint !== undefined && { hint: e.hint }), ...(e.ref !== undefined && { ref: e.ref }) } });
    }
  }
}
