/** The call page's grid shape (static/js/grid-layout.js), run in Node. */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module of the pages (no types)
import { gridShape, MIN_STRIP_W, MIN_TILE_W } from '../../../static/js/grid-layout.js';

interface Shape { cols: number; tileW: number; ratio: number; spotW?: number }
const shape = (o: { width: number; height: number; count: number; gap?: number; spotlit?: boolean }): Shape => gridShape({ gap: 12, ...o });
/** Rows the tiles take and their height with the gaps, CSS px. */
const rowsHeight = (s: Shape, count: number, gap = 12) => {
  const rows = Math.ceil(count / s.cols);
  return rows * (s.tileW / s.ratio) + (rows - 1) * gap;
};

describe('gridShape', () => {
  it('gives one person the whole width of a wide stage, and four a 2x2 grid that fits', () => {
    expect(shape({ width: 1248, height: 560, count: 1 })).toEqual({ cols: 1, tileW: 995, ratio: 16 / 9 });
    const four = shape({ width: 1248, height: 560, count: 4 });
    expect(four.cols).toBe(2);
    expect(rowsHeight(four, 4)).toBeLessThanOrEqual(560);
  });

  it('fits everyone while tiles stay at least MIN_TILE_W wide: 35 people on a laptop stage', () => {
    const s = shape({ width: 1248, height: 560, count: 35 });
    expect(s.tileW).toBeGreaterThanOrEqual(MIN_TILE_W);
    expect(rowsHeight(s, 35)).toBeLessThanOrEqual(560);
  });

  it('makes more people than fit at MIN_TILE_W scroll: full-width columns of tiles no narrower, rows below the fold', () => {
    const s = shape({ width: 464, height: 258, count: 7 });
    // Without the floor the 7 would fit as 3 columns of 143 px.
    expect(s).toEqual({ cols: 2, tileW: 226, ratio: 16 / 9 });
    expect(rowsHeight(s, 7, 12)).toBeGreaterThan(258);
    const many = shape({ width: 1248, height: 560, count: 60 });
    expect(many.tileW).toBeGreaterThanOrEqual(MIN_TILE_W);
    expect(many.cols * many.tileW + (many.cols - 1) * 12).toBeLessThanOrEqual(1248);
  });

  it('never makes a tile wider than a stage narrower than MIN_TILE_W', () => {
    const s = shape({ width: 140, height: 400, count: 6 });
    expect(s.cols).toBe(1);
    expect(s.tileW).toBeLessThanOrEqual(140);
  });

  it('spotlit: the strip of the others stays one row while it fits, then wraps at MIN_STRIP_W', () => {
    const few = shape({ width: 1248, height: 560, count: 4, spotlit: true });
    expect(few).toMatchObject({ cols: 3, tileW: 200 });
    expect(few.spotW).toBeLessThanOrEqual(1248);
    const many = shape({ width: 1248, height: 560, count: 30, spotlit: true });
    expect(many.tileW).toBe(MIN_STRIP_W);
    expect(many.cols).toBe(Math.floor((1248 + 12) / (MIN_STRIP_W + 12)));
    // As many as fit at exactly the strip width: no column lost to rounding.
    const exact = shape({ width: 5 * 120 + 4 * 12, height: 400, count: 6, spotlit: true });
    expect(exact).toMatchObject({ cols: 5, tileW: 120 });
  });
});
