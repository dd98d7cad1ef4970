import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../src/signaling/rate-limit.js';

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
});
