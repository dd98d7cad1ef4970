import { describe, expect, it } from 'vitest';
import { LayerSelector, type LayerLiveness } from '../../../src/sfu/layer-selector.js';

const live = (...layers: number[]): LayerLiveness => ({ isLive: (i) => layers.includes(i) });

describe('LayerSelector', () => {
  it('starts on the key frame of the best live layer, and waits for a key frame to move up', () => {
    const s = new LayerSelector({ layerCount: 3, preference: 'auto' });
    expect(s.onPacket(0, false, 0, live(0))).toBe(false); // no key frame yet: nothing to decode from
    expect(s.keyframeWanted()).toBe(0);
    expect(s.onPacket(0, true, 0, live(0))).toBe(true);
    expect(s.current).toBe(0);
    expect(s.keyframeWanted()).toBeUndefined();
    // The top layer comes up: keep forwarding layer 0 until layer 2's key frame.
    expect(s.onPacket(2, false, 10, live(0, 2))).toBe(false);
    expect(s.keyframeWanted()).toBe(2);
    expect(s.onPacket(0, false, 11, live(0, 2))).toBe(true);
    expect(s.onPacket(2, true, 12, live(0, 2))).toBe(true);
    expect(s.current).toBe(2);
    expect(s.onPacket(0, true, 13, live(0, 2))).toBe(false);
  });

  it('low then high: switches only at the target key frame, never to a layer further away', () => {
    const s = new LayerSelector({ layerCount: 3, preference: 'low' });
    const all = live(0, 1, 2);
    // A new stream starts at the target's own key frame while the target sends.
    expect(s.onPacket(2, true, 0, all)).toBe(false);
    expect(s.keyframeWanted()).toBe(0);
    expect(s.onPacket(0, true, 1, all)).toBe(true);
    expect(s.current).toBe(0);
    s.setPreference('high', 3);
    expect(s.keyframeWanted()).toBe(2);
    expect(s.onPacket(1, true, 2, all)).toBe(true); // medium is closer to high than low: take it on the way
    expect(s.current).toBe(1);
    expect(s.onPacket(0, true, 3, all)).toBe(false);
    expect(s.onPacket(2, true, 4, all)).toBe(true);
    expect(s.current).toBe(2);
  });

  it('when the forwarded layer stops, the next key frame of any live layer takes over', () => {
    const s = new LayerSelector({ layerCount: 3, preference: 'high' });
    s.onPacket(2, true, 0, live(0, 2));
    expect(s.current).toBe(2);
    // Layer 2 stopped (publisher paused it): the target drops to the best live one.
    expect(s.onPacket(0, false, 2000, live(0))).toBe(false);
    expect(s.keyframeWanted()).toBe(0);
    expect(s.onPacket(0, true, 2001, live(0))).toBe(true);
    expect(s.current).toBe(0);
  });

  it('reset keeps forwarding the same stream at its new index', () => {
    const s = new LayerSelector({ layerCount: 2, preference: 'high' });
    s.onPacket(0, true, 0, live(0, 1));
    s.reset(3, 1);
    expect(s.current).toBe(1);
    expect(s.onPacket(1, false, 1, live(0, 1, 2))).toBe(true);
    expect(s.keyframeWanted()).toBe(2);
  });
});
