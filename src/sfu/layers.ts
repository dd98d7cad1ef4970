/**
 * Names of simulcast layers (PROTOCOL.md v2): a track with three encodings has `low`,
 * `medium`, `high`; with two, `low` and `high`. A preference maps to a layer index, low → high.
 */
import type { LayerPreference, Quality } from '../protocol/signaling.js';

export function layerNames(count: number): Quality[] {
  if (count >= 3) return ['low', 'medium', 'high'];
  return count === 2 ? ['low', 'high'] : ['high'];
}

/** The index a preference aims at among `count` layers (`auto`: the best there is). */
export function layerIndexFor(preference: LayerPreference, count: number): number {
  const top = Math.max(0, count - 1);
  if (preference === 'low') return 0;
  if (preference === 'medium') return Math.min(1, top);
  return top;
}
