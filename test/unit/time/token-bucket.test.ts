import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../src/time/token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, then refills at the rate', () => {
    let now = 0;
    const b = new TokenBucket(10, 20, () => now);
    let ok = 0;
    for (let i = 0; i < 30; i++) if (b.take()) ok++;
    expect(ok).toBe(20);
    now += 500; // half a second refills 5 tokens
    ok = 0;
    for (let i = 0; i < 10; i++) if (b.take()) ok++;
    expect(ok).toBe(5);
    now += 60_000; // never more than the burst
    ok = 0;
    for (let i = 0; i < 30; i++) if (b.take()) ok++;
    expect(ok).toBe(20);
  });

  it('takes a cost at once or not at all', () => {
    let now = 0;
    const b = new TokenBucket(1000, 500, () => now);
    expect(b.take(400)).toBe(true);
    expect(b.take(200)).toBe(false); // 100 left: nothing taken
    expect(b.take(100)).toBe(true);
    now += 150; // 150 ms refill 150
    expect(b.take(160)).toBe(false);
    expect(b.take(150)).toBe(true);
    expect(b.take(600)).toBe(false); // more than the burst never passes
  });
});
