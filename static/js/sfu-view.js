// What an SFU room's page asks the server to send it (PROTOCOL.md, SFU rooms v2): every video
// track whose tile is on screen, at the layer its size needs (a small grid tile `low`, a large
// or spotlit one `high`); nothing for tiles scrolled away or while the tab is hidden. The
// server answers `layer` whenever what it forwards changes, shown as a badge on the tile.
// `subscribe`/`unsubscribe` wait for our first offer: the server refuses them before it has our
// connection, and on that offer it subscribes us to everything (we join auto-subscribed).

/**
 * The layer a tile `cssWidth` CSS pixels wide needs on a screen of `pixelRatio`: the smallest
 * whose width (about 1/4, 1/2 and all of a 640-1280 px camera) does not look blurred there.
 */
export function qualityForWidth(cssWidth, pixelRatio = 1, spotlit = false) {
  if (spotlit) return 'high';
  const px = cssWidth * pixelRatio;
  return px <= 320 ? 'low' : px <= 640 ? 'medium' : 'high';
}

export class SfuView {
  /**
   * @param {object} o
   * @param {object} o.s the call page's state (tiles, selfId)
   * @param {(msg: object) => void} o.send signaling
   * @param {() => boolean} o.connected whether our first offer went to the server (the server
   *   has our connection and subscribed us to every track)
   * @param {() => boolean} o.hidden whether the tab is hidden (`document.hidden`)
   */
  constructor(o) {
    this.o = o;
    /** The room's tracks, from the latest `tracks`. */
    this.tracks = [];
    /** What we asked for, by track id: subscribed (true by default: we join auto-subscribed) and layer. */
    this.subscribed = new Map();
    this.wanted = new Map();
    /** Layers set by hand (the test hook), over the size rule. */
    this.overrides = new Map();
    /** What the server says it forwards, by track id. */
    this.layers = new Map();
    /** Why the server forwards what it does, by track (`layer` reason: requested, bandwidth, loss, unavailable). */
    this.reasons = new Map();
    this.visible = new Map();
    this.observer = typeof IntersectionObserver === 'function'
      ? new IntersectionObserver((entries) => {
        for (const e of entries) this.visible.set(e.target.dataset.peer, e.isIntersecting);
        this.refresh();
      })
      : undefined;
  }

  /** A tile to watch for being on screen (in the grid's scrolled view and the window). */
  observe(tile) {
    this.observer?.observe(tile.root);
  }

  /** A tile that goes: no longer watched. */
  forget(tile) {
    this.observer?.unobserve(tile.root);
    this.visible.delete(tile.id);
  }

  onTracks(tracks) {
    this.tracks = tracks;
    const ids = new Set(tracks.map((t) => t.id));
    for (const map of [this.subscribed, this.wanted, this.layers]) for (const id of [...map.keys()]) if (!ids.has(id)) map.delete(id);
    this.refresh();
  }

  onLayer(m) {
    this.layers.set(m.track, m.quality);
    this.reasons.set(m.track, m.reason);
    const t = this.tracks.find((x) => x.id === m.track);
    if (t && t.source === 'camera') this.o.s.tiles.get(t.publisher)?.setLayer(m.quality);
  }

  setOverride(trackId, quality) {
    if (quality) this.overrides.set(trackId, quality);
    else this.overrides.delete(trackId);
    this.refresh();
  }

  /** Sends what changed: subscribe/unsubscribe per video track, and `layer` per simulcast one. */
  refresh() {
    const { s, send } = this.o;
    const connected = this.o.connected();
    const hidden = this.o.hidden();
    for (const t of this.tracks) {
      if (t.kind !== 'video' || t.publisher === s.selfId) continue;
      const tile = s.tiles.get(t.publisher);
      const show = Boolean(tile) && !hidden && this.visible.get(t.publisher) !== false;
      if (connected && (this.subscribed.get(t.id) ?? true) !== show) {
        this.subscribed.set(t.id, show);
        send({ type: show ? 'subscribe' : 'unsubscribe', publisher: t.publisher, track: t.id });
      }
      if (!show || t.layers.length < 2) continue;
      // A camera shown in the corner of a screen share needs little.
      const corner = t.source === 'camera' && tile.videos.screen !== undefined;
      const quality = this.overrides.get(t.id)
        ?? (corner ? 'low' : qualityForWidth(tile.root.clientWidth, globalThis.devicePixelRatio ?? 1, tile.root.classList.contains('spotlight')));
      if (this.wanted.get(t.id) === quality) continue;
      this.wanted.set(t.id, quality);
      send({ type: 'layer', track: t.id, quality });
    }
  }

  snapshot() {
    return {
      tracks: this.tracks.map((t) => ({ ...t })),
      layers: Object.fromEntries(this.layers),
      reasons: Object.fromEntries(this.reasons),
      wanted: Object.fromEntries(this.wanted),
      subscribed: Object.fromEntries(this.subscribed),
    };
  }
}
