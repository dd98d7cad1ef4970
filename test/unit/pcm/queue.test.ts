import { describe, expect, it } from 'vitest';
import { PairingQueue } from '../../../src/pcm/queue.js';

describe('PairingQueue', () => {
  it('pairs clients without a code first come, first served', () => {
    const q = new PairingQueue<string>();
    expect(q.offer('a')).toEqual({ kind: 'waiting' });
    expect(q.size).toBe(1);
    expect(q.offer('b')).toEqual({ kind: 'paired', partner: 'a' });
    expect(q.size).toBe(0);
    expect(q.offer('c')).toEqual({ kind: 'waiting' });
    expect(q.offer('d')).toEqual({ kind: 'paired', partner: 'c' });
  });

  it('pairs only clients that gave the same code, and never a coded client with a codeless one', () => {
    const q = new PairingQueue<string>();
    expect(q.offer('a', 'x')).toEqual({ kind: 'waiting' });
    expect(q.offer('b')).toEqual({ kind: 'waiting' });
    expect(q.offer('c', 'y')).toEqual({ kind: 'waiting' });
    expect(q.offer('d', 'x')).toEqual({ kind: 'paired', partner: 'a' });
    expect(q.offer('e', 'y')).toEqual({ kind: 'paired', partner: 'c' });
    expect(q.size).toBe(1);
  });

  it('answers full to a third client with a code held by a live pair, until the pair releases it', () => {
    const q = new PairingQueue<string>();
    q.offer('a', 'x');
    q.offer('b', 'x');
    expect(q.offer('c', 'x')).toEqual({ kind: 'full' });
    q.release('x');
    // the survivor re-queues with its code and a newcomer can join it
    expect(q.offer('b', 'x')).toEqual({ kind: 'waiting' });
    expect(q.offer('c', 'x')).toEqual({ kind: 'paired', partner: 'b' });
  });

  it('removes a waiting client so nobody is paired with a client that left', () => {
    const q = new PairingQueue<string>();
    q.offer('a');
    q.offer('b', 'x');
    expect(q.remove('a')).toBe(true);
    expect(q.remove('b')).toBe(true);
    expect(q.remove('b')).toBe(false);
    expect(q.size).toBe(0);
    expect(q.offer('c')).toEqual({ kind: 'waiting' });
    expect(q.offer('d', 'x')).toEqual({ kind: 'waiting' });
  });

  it('does not pair a client with itself when offered twice', () => {
    const q = new PairingQueue<string>();
    q.offer('a');
    expect(q.offer('a')).toEqual({ kind: 'waiting' });
    q.offer('b', 'x');
    expect(q.offer('b', 'x')).toEqual({ kind: 'waiting' });
  });
});
