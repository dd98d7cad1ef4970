// The quality card: one floating card for the page, next to the signal bars of the tile it
// describes. It lives outside the tiles so a small one (the strip under a shared screen) does
// not cut it off. Hovering or focusing the bars shows it; a click or tap pins it open until the
// bars are clicked again or a click lands elsewhere.

/** Space kept between the card and the bars or the window's edge, px. */
const GAP = 6;

export class QualityCard {
  constructor() {
    this.el = undefined;
    /** The tile whose card shows (see Tile: `bars` and `fillCard(el)`), or undefined. */
    this.owner = undefined;
    this.pinned = false;
    this.onOutsideClick = (e) => {
      if (!this.owner || this.el.contains(e.target) || this.owner.bars?.contains(e.target)) return;
      this.hide(this.owner, true);
    };
    this.onResize = () => this.place();
  }

  /** Shows `tile`'s card next to its bars; `pinned`: it stays until closed (a click or tap). */
  show(tile, pinned) {
    if (!this.el) {
      this.el = document.createElement('div');
      this.el.className = 'qcard';
      this.el.setAttribute('role', 'tooltip');
      this.el.id = 'quality-card';
      document.body.append(this.el);
    }
    if (this.owner && this.owner !== tile) this.owner.bars?.removeAttribute('aria-describedby');
    this.owner = tile;
    this.pinned = pinned || (this.pinned && this.owner === tile);
    tile.bars.setAttribute('aria-describedby', this.el.id);
    tile.bars.setAttribute('aria-expanded', String(this.pinned));
    this.el.hidden = false;
    this.update(tile);
    window.addEventListener('resize', this.onResize);
    if (this.pinned) document.addEventListener('click', this.onOutsideClick, true);
  }

  /** Hides `tile`'s card (a pinned one only when `force`). */
  hide(tile, force = false) {
    if (!this.el || this.owner !== tile || (this.pinned && !force)) return;
    tile.bars?.removeAttribute('aria-describedby');
    tile.bars?.setAttribute('aria-expanded', 'false');
    this.el.hidden = true;
    this.owner = undefined;
    this.pinned = false;
    window.removeEventListener('resize', this.onResize);
    document.removeEventListener('click', this.onOutsideClick, true);
  }

  /** A click or tap on `tile`'s bars: pins its card open, or closes it when it was pinned. */
  toggle(tile) {
    if (this.owner === tile && this.pinned) this.hide(tile, true);
    else this.show(tile, true);
  }

  isOpenFor(tile) {
    return this.owner === tile && this.el?.hidden === false;
  }

  /** Refills `tile`'s card if it shows (a new reading, a new video size) and places it again. */
  update(tile) {
    if (this.owner !== tile || !this.el) return;
    this.el.innerHTML = '';
    tile.fillCard(this.el);
    this.place();
  }

  /** Under the bars, its right edge at theirs, kept inside the window (above them when there is no room below). */
  place() {
    const bars = this.owner?.bars;
    if (!bars || !this.el || this.el.hidden) return;
    const r = bars.getBoundingClientRect();
    const w = this.el.offsetWidth;
    const h = this.el.offsetHeight;
    const left = Math.max(GAP, Math.min(window.innerWidth - w - GAP, r.right - w));
    let top = r.bottom + GAP;
    if (top + h > window.innerHeight - GAP) top = Math.max(GAP, r.top - h - GAP);
    this.el.style.left = `${Math.round(left)}px`;
    this.el.style.top = `${Math.round(top)}px`;
  }
}

/** The page's one card. */
export const qualityCard = new QualityCard();
