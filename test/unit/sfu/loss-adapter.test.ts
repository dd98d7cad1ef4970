import { describe, expect, it } from 'vitest';
import { LayerSelector } from '../../../src/sfu/layer-selector.js';
import { LossAdapter, UP_AFTER_MS } from '../../../src/sfu/loss-adapter.js';

describe('LossAdapter', () => {
  it('steps down one layer after two lossy reports (or one severe), never below the lowest, and not again until the switch settled', () => {
    const a = new LossAdapter();
    expect(a.onReport(10, 2, 3, 0)).toBeUndefined(); // one lossy report is not enough
    expect(a.onReport(10, 2, 3, 1000)).toBe(1);
    expect(a.onReport(10, 1, 3, 2000)).toBeUndefined();
    expect(a.onReport(10, 1, 3, 2500)).toBeUndefined(); // within 2 s of the last step
    expect(a.onReport(10, 1, 3, 3100)).toBe(0);
    expect(a.onReport(30, 0, 3, 6000)).toBeUndefined(); // already the lowest
    expect(a.ceiling).toBe(0);
    const b = new LossAdapter();
    expect(b.onReport(20, 2, 3, 0)).toBe(1); // severe: at once
  });

  it('goes back up one layer per 8 s of clean reports, and lifts the cap at the top', () => {
    const a = new LossAdapter();
    a.onReport(20, 2, 3, 0);
    a.onReport(20, 1, 3, 3000);
    expect(a.ceiling).toBe(0);
    let t = 4000;
    const clean = (until: number) => { const out: (number | undefined)[] = []; for (; t <= until; t += 1000) { const c = a.onReport(0, 0, 3, t); if (c !== undefined) out.push(c); } return out; };
    expect(clean(4000 + UP_AFTER_MS - 1000)).toEqual([]);
    expect(clean(4000 + UP_AFTER_MS)).toEqual([1]);
    expect(clean(4000 + 2 * UP_AFTER_MS)).toEqual([Infinity]);
    // In-between loss (2-7 %) restarts the clean count without stepping down.
    const b = new LossAdapter();
    b.onReport(20, 2, 3, 0);
    expect(b.onReport(0, 1, 3, 1000)).toBeUndefined();
    expect(b.onReport(4, 1, 3, 8000)).toBeUndefined();
    expect(b.onReport(0, 1, 3, 8500)).toBeUndefined();
    expect(b.onReport(0, 1, 3, 8500 + UP_AFTER_MS)).toBe(Infinity);
  });

  it('a failed probe (loss again soon after a step up) doubles the wait before the next', () => {
    const a = new LossAdapter();
    a.onReport(20, 2, 3, 0); // cap 1
    a.onReport(0, 1, 3, 1000);
    expect(a.onReport(0, 1, 3, 1000 + UP_AFTER_MS)).toBe(Infinity); // probe up
    expect(a.onReport(20, 2, 3, 1000 + UP_AFTER_MS + 1000)).toBe(1); // it failed
    const t0 = 1000 + UP_AFTER_MS + 4000;
    a.onReport(0, 1, 3, t0);
    expect(a.onReport(0, 1, 3, t0 + UP_AFTER_MS)).toBeUndefined();
    expect(a.onReport(0, 1, 3, t0 + 2 * UP_AFTER_MS)).toBe(Infinity);
  });
});

describe('LayerSelector with a ceiling', () => {
  const allLive = { isLive: () => true };
  it('aims under the cap, switching at key frames; lifting the cap aims at the preference again', () => {
    const s = new LayerSelector({ layerCount: 3, preference: 'auto' });
    expect(s.onPacket(2, true, 0, allLive)).toBe(true);
    s.setCeiling(0);
    expect(s.keyframeWanted()).toBe(0);
    expect(s.onPacket(2, false, 10, allLive)).toBe(true); // keeps flowing until the target's key frame
    expect(s.onPacket(0, true, 20, allLive)).toBe(true);
    expect(s.current).toBe(0);
    expect(s.onPacket(2, false, 30, allLive)).toBe(false);
    s.setCeiling(Infinity);
    expect(s.keyframeWanted()).toBe(2);
    s.setPreference('medium', 3);
    expect(s.keyframeWanted()).toBe(1);
  });
});
