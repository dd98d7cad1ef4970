// The call page's grid shape, pure so it is tested in Node: how many columns, how wide a tile.

/**
 * The narrowest grid tile, CSS px (16:9, so 90 px high). Below it a face is a blur: a room with
 * more people than fit at this size scrolls instead, and a tile scrolled out of view stops
 * receiving its video in SFU rooms (sfu-view.js).
 */
export const MIN_TILE_W = 160;
/** The narrowest tile in the strip under a spotlit one, CSS px. */
export const MIN_STRIP_W = 96;

/**
 * @param {object} o
 * @param {number} o.width the grid's inner width (padding taken off), CSS px
 * @param {number} o.height its inner height, CSS px
 * @param {number} o.count tiles in the grid (at least 1 is assumed)
 * @param {number} o.gap between tiles, CSS px
 * @param {boolean} [o.spotlit] one tile shown big above a strip of the others
 * @returns {{cols: number, tileW: number, ratio: number, spotW?: number}} `spotW` only when spotlit
 */
export function gridShape({ width: w, height: h, count, gap, spotlit = false }) {
  const n = Math.max(1, count);
  if (spotlit && n > 1) {
    // One big tile (a shared screen, or a pinned person) above a strip of the others; a strip
    // too long for one row wraps and the grid scrolls.
    const others = n - 1;
    const stripW = Math.floor(Math.min(w, Math.max(MIN_STRIP_W, Math.min(w < 600 ? 120 : 200, (w - (others - 1) * gap) / others))));
    const cols = Math.max(1, Math.min(others, Math.floor((w + gap) / (stripW + gap))));
    const spotW = Math.min(w, ((h - (stripW * 9) / 16 - gap) * 16) / 9);
    return { cols, tileW: stripW, ratio: 16 / 9, spotW: Math.floor(spotW) };
  }
  // The column count and tile shape that give each tile the most area; a tall screen (a phone
  // held upright) may get square tiles, which crop the sides of a landscape camera a little.
  const ratios = h > w ? [16 / 9, 1] : [16 / 9];
  let best = { cols: 1, size: 0, ratio: 16 / 9, area: 0 };
  for (const ratio of ratios) {
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      const tileW = Math.min((w - (cols - 1) * gap) / cols, ((h - (rows - 1) * gap) / rows) * ratio);
      const area = (tileW * tileW) / ratio;
      if (area > best.area) best = { cols, size: tileW, ratio, area };
    }
  }
  if (best.size < MIN_TILE_W && w >= MIN_TILE_W) {
    // Too many to fit: as many columns of at least MIN_TILE_W as the width takes, and rows
    // below the fold.
    const cols = Math.max(1, Math.min(n, Math.floor((w + gap) / (MIN_TILE_W + gap))));
    return { cols, tileW: Math.floor((w - (cols - 1) * gap) / cols), ratio: 16 / 9 };
  }
  return { cols: best.cols, tileW: Math.floor(best.size), ratio: best.ratio };
}
