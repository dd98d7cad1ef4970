import { describe, expect, it } from 'vitest';
import { CallpeerError } from '../../../src/errors.js';
import { NodeCalls } from '../../../src/cluster/node-calls.js';
import type { NodeMessage } from '../../../src/cluster/wire.js';

/** Two nodes whose bus delivers asynchronously, as JSON (what crosses Redis or IPC). */
function pair(): { a: NodeCalls; b: NodeCalls } {
  const nodes = new Map<string, NodeCalls>();
  const send = (to: string, m: NodeMessage) => {
    const copy = JSON.parse(JSON.stringify(m)) as Extract<NodeMessage, { t: 'call' | 'reply' }>;
    setImmediate(() => nodes.get(to)?.receive(copy));
  };
  const a = new NodeCalls('a', send, 200);
  const b = new NodeCalls('b', send, 200);
  nodes.set('a', a);
  nodes.set('b', b);
  return { a, b };
}

describe('NodeCalls', () => {
  it('a call resolves with the other node\'s result and knows who called', async () => {
    const { a, b } = pair();
    b.serve('add', (args: { x: number; y: number }, from: string) => ({ sum: args.x + args.y, from }));
    expect(await a.call('b', 'add', { x: 2, y: 3 })).toEqual({ sum: 5, from: 'a' });
  });

  it('a refusal comes back as the same CallpeerError; no handler or no answer is INTERNAL', async () => {
    const { a, b } = pair();
    b.serve('full', () => { throw new CallpeerError('ROOM_FULL', 'room "r" is full (8 participants)', { hint: 'try later' }); });
    await expect(a.call('b', 'full', {})).rejects.toMatchObject({ code: 'ROOM_FULL', message: 'room "r" is full (8 participants)', hint: 'try later' });
    await expect(a.call('b', 'missing', {})).rejects.toMatchObject({ code: 'INTERNAL', message: 'node b has no "missing"' });
    await expect(a.call('gone', 'add', {}, 50)).rejects.toMatchObject({ code: 'INTERNAL', message: 'node gone did not answer "add" within 50 ms' });
  });
});
