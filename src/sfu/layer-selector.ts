/**
 * Which simulcast layer one subscriber receives. The target is what its preference asks for
 * (`layerIndexFor`), lowered to the best layer that is still sending when that one is not
 * (a publisher's top layer paused for bandwidth, or stopped). A switch happens only at a key
 * frame of a layer closer to the target than the current one (a new stream starts at the
 * target's own key frame), so the decoder never gets a delta frame it has no reference for;
 * until then the current layer keeps flowing (no freeze).
 * Pure: the caller says which layers are live and what time it is.
 */
import type { LayerPreference } from '../protocol/signaling.js';
import { layerIndexFor } from './layers.js';

/** Which layers of the publication sent something lately. */
export interface LayerLiveness {
  isLive(index: number, nowMs: number): boolean;
}

export interface LayerSelectorOptions {
  layerCount: number;
  preference: LayerPreference;
}

export class LayerSelector {
  /** The layer forwarded now, -1 before the first key frame. */
  current = -1;
  private layerCount: number;
  private preference: LayerPreference;
  /** The layer we aim at, as of the last packet (the preference, capped, lowered to a live layer). */
  private target: number;
  /** The highest layer the subscriber's network takes now (Infinity: no cap). */
  ceiling = Infinity;

  constructor(options: LayerSelectorOptions) {
    this.layerCount = options.layerCount;
    this.preference = options.preference;
    this.target = this.wanted();
  }

  /** Whether to forward this packet of layer `layer` (switching to it first when it is time). */
  onPacket(layer: number, keyframe: boolean, nowMs: number, live: LayerLiveness): boolean {
    if (layer === this.current && layer === this.target) return true; // the steady state, kept cheap
    this.target = this.effectiveTarget(nowMs, live);
    if (keyframe && layer !== this.current && this.closer(layer, nowMs, live)) this.current = layer;
    return layer === this.current;
  }

  /** The layer to ask a key frame of, when we are not on the target yet. */
  keyframeWanted(): number | undefined {
    return this.current === this.target ? undefined : this.target;
  }

  setPreference(preference: LayerPreference, layerCount: number): void {
    this.preference = preference;
    this.layerCount = layerCount;
    this.target = this.wanted();
  }

  /** Caps the layer for the subscriber's network (Infinity lifts the cap). */
  setCeiling(ceiling: number): void {
    this.ceiling = ceiling;
    this.target = this.wanted();
  }

  /**
   * The publication re-ranked its layers (sizes learnt from key frames) or changed their
   * number: `current` is where the forwarded stream's layer sits now (-1 if it is gone).
   */
  reset(layerCount: number, current: number): void {
    this.layerCount = layerCount;
    this.current = current;
    this.target = this.wanted();
  }

  /** What the preference asks for, under the network's cap. */
  private wanted(): number {
    return Math.min(layerIndexFor(this.preference, this.layerCount), this.ceiling);
  }

  private effectiveTarget(nowMs: number, live: LayerLiveness): number {
    const wanted = this.wanted();
    for (let i = wanted; i >= 0; i--) if (live.isLive(i, nowMs)) return i;
    for (let i = wanted + 1; i < this.layerCount; i++) if (live.isLive(i, nowMs)) return i;
    return wanted;
  }

  /**
   * Whether to switch to `layer`: nearer the target than what we forward. With nothing to
   * forward yet (or the current layer stopped), the target's own key frame is awaited while
   * the target sends (it was asked for one); any layer's will do when it does not.
   */
  private closer(layer: number, nowMs: number, live: LayerLiveness): boolean {
    if (this.current < 0 || !live.isLive(this.current, nowMs)) return layer === this.target || !live.isLive(this.target, nowMs);
    return Math.abs(layer - this.target) < Math.abs(this.current - this.target);
  }
}
