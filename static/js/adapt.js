// Mesh rooms: each connection's video sender follows the link it crosses. The receiver's RTCP
// reports (our `remote-inbound-rtp`) say how much of our video it lost and the round trip; on
// sustained loss, or a round trip well above the link's own baseline, the sender steps down
// (its maxBitrate halved, then its picture scaled down) and back up one step at a time once the
// link is clean again. Chromium's estimator lowers its target on loss too, but an encoder that
// already sends less than the target (a calm picture) sends on as before, at full size: fewer,
// smaller packets are what a lossy link carries best. Decisions are pure functions (tested in
// Node); SendAdapter applies them with setParameters, under the room's caps (media-settings.js).
import { capEncoding } from './media-settings.js';

/** The steps, from as the room allows down: the bitrate's divisor and scaleResolutionDownBy. */
export const LEVELS = Object.freeze([
  { divisor: 1, scale: 1 },
  { divisor: 2, scale: 1 },
  { divisor: 4, scale: 1 },
  { divisor: 4, scale: 2 },
  { divisor: 4, scale: 4 },
]);

/** The lowest maxBitrate a step sets, kbit/s: under it a picture of any size turns to mush. */
export const FLOOR_KBPS = 50;

export const DEFAULTS = Object.freeze({
  /** A reading losing more than this % of our video is bad; under `cleanLossPct` it is clean (between: neither, no flapping). */
  badLossPct: 5,
  cleanLossPct: 2,
  /** Bad readings in a row that make one step down (readings come every 2 s). */
  badReadings: 2,
  /** Clean for this long (and as long since the last step) makes one step up, ms. */
  upAfterMs: 10_000,
  /** A round trip is high from max(baseline x rttFactor, baseline + rttMarginMs), clean under half that rise. */
  rttFactor: 2,
  rttMarginMs: 200,
  /** Fewer of our video packets than this in a reading say nothing about loss. */
  minPackets: 10,
});

/**
 * Our video sender's counters in one getStats() report (`report.values()`), or undefined when
 * the connection sends no video: the outbound stream's bytes and packets (retransmissions
 * apart) and the receiver's last report on it (cumulative loss, round trip, how many reports).
 * @param {Iterable<object>} entries
 * @param {number} atMs when it was taken (performance.now())
 */
export function readSend(entries, atMs) {
  const list = [...entries];
  const out = list.find((s) => s.type === 'outbound-rtp' && s.kind === 'video');
  if (!out) return undefined;
  const rr = list.find((s) => s.type === 'remote-inbound-rtp' && (s.localId === out.id || (s.localId === undefined && s.kind === 'video')));
  return {
    atMs,
    bytes: (out.bytesSent ?? 0) - (out.retransmittedBytesSent ?? 0),
    packets: (out.packetsSent ?? 0) - (out.retransmittedPacketsSent ?? 0),
    lost: rr?.packetsLost ?? 0,
    reports: rr?.roundTripTimeMeasurements ?? 0,
    rttMs: rr?.roundTripTime === undefined ? undefined : rr.roundTripTime * 1000,
    targetKbps: out.targetBitrate === undefined ? undefined : out.targetBitrate / 1000,
  };
}

/**
 * What the link did to our video from `prev` to `cur`: loss % (undefined without a new receiver
 * report or with too few packets to judge), the report's round trip (ms, undefined without a
 * new report) and the bitrate we sent (kbit/s, retransmissions apart, and at most the encoder's
 * target: while the estimator probes, padding counts as sent).
 */
export function sendFigures(prev, cur, minPackets = DEFAULTS.minPackets) {
  const dt = cur.atMs - prev.atMs;
  const fresh = cur.reports > prev.reports;
  const packets = cur.packets - prev.packets;
  // The report lags what we count as sent by up to a second: a ratio over 2 s is close enough.
  const lossPct = fresh && packets >= minPackets ? Math.min(100, (100 * Math.max(0, cur.lost - prev.lost)) / packets) : undefined;
  return {
    lossPct,
    rttMs: fresh ? cur.rttMs : undefined,
    kbps: dt > 0 ? Math.min(cur.targetKbps ?? Infinity, Math.max(0, ((cur.bytes - prev.bytes) * 8) / dt)) : undefined,
  };
}

/** A link's state before its first reading: as the room allows. */
export function initialState() {
  return { level: 0, reason: '', bad: 0, cleanSinceMs: undefined, changedAtMs: 0, baseKbps: undefined, minRttMs: undefined };
}

/**
 * The state after one reading `f` (sendFigures) at `nowMs`: two bad readings in a row step
 * down, `upAfterMs` of clean ones step up; anything between holds. `reason` says what made the
 * last step down ('loss' | 'rtt'), '' at level 0. `baseKbps` is what we sent when the first step
 * was taken (under the room's cap): the steps divide it.
 * @param {ReturnType<typeof initialState>} st
 * @param {ReturnType<typeof sendFigures>} f
 * @param {number} nowMs
 * @param {{capKbps?: number}} [room]
 */
export function nextState(st, f, nowMs, room = {}, opts = DEFAULTS) {
  const next = { ...st };
  if (f.rttMs !== undefined) next.minRttMs = Math.min(st.minRttMs ?? Infinity, f.rttMs);
  const base = next.minRttMs ?? 0;
  const highRtt = Math.max(base * opts.rttFactor, base + opts.rttMarginMs);
  const lossBad = f.lossPct !== undefined && f.lossPct > opts.badLossPct;
  const rttBad = f.rttMs !== undefined && f.rttMs >= highRtt;
  const lossClean = f.lossPct === undefined || f.lossPct < opts.cleanLossPct;
  const rttClean = f.rttMs === undefined || f.rttMs < (base + highRtt) / 2;
  if (f.lossPct === undefined && f.rttMs === undefined) return next; // no new report: nothing learnt
  if (lossBad || rttBad) {
    next.bad = st.bad + 1;
    next.cleanSinceMs = undefined;
    if (next.bad >= opts.badReadings && st.level < LEVELS.length - 1) {
      if (st.level === 0) next.baseKbps = Math.min(room.capKbps ?? Infinity, f.kbps ?? room.capKbps ?? 1000);
      next.level = st.level + 1;
      next.reason = lossBad ? 'loss' : 'rtt';
      next.bad = 0;
      next.changedAtMs = nowMs;
    }
    return next;
  }
  next.bad = 0;
  if (!lossClean || !rttClean) {
    next.cleanSinceMs = undefined;
    return next;
  }
  next.cleanSinceMs = st.cleanSinceMs ?? nowMs;
  if (st.level > 0 && nowMs - Math.max(next.cleanSinceMs, st.changedAtMs) >= opts.upAfterMs) {
    next.level = st.level - 1;
    next.changedAtMs = nowMs;
    if (next.level === 0) {
      next.reason = '';
      next.baseKbps = undefined;
    }
  }
  return next;
}

/**
 * The sender's encoding at `level`: maxBitrate (kbit/s; undefined: none of ours, the room's cap
 * applies) and scaleResolutionDownBy.
 */
export function levelEncoding(level, baseKbps, capKbps) {
  const { divisor, scale } = LEVELS[level];
  if (level === 0 || baseKbps === undefined) return { maxBitrateKbps: capKbps, scale: 1 };
  const kbps = Math.max(FLOOR_KBPS, Math.floor(baseKbps / divisor));
  return { maxBitrateKbps: Math.min(kbps, capKbps ?? Infinity), scale };
}

/** Each mesh connection's adaptation: fed the LinkStats samples, applies its steps to the video sender. */
export class SendAdapter {
  /**
   * @param {object} o
   * @param {() => object | undefined} o.media the room's media settings (`joined.room.media`)
   * @param {() => void} o.changed a link stepped down or up (the page's banner follows `reason()`)
   * @param {Partial<typeof DEFAULTS>} [o.options] tests shorten `upAfterMs`
   */
  constructor(o) {
    this.o = o;
    this.opts = { ...DEFAULTS, ...o.options };
    /** By remote participant id: {link, prev sample, state, applied encoding, last figures}. */
    this.links = new Map();
  }

  /** One getStats() report of mesh link `link` (whose remote is `link.id`). */
  async sample(link, report) {
    let entry = this.links.get(link.id);
    if (!entry || entry.link !== link) {
      entry = { link, prev: undefined, state: initialState(), applied: undefined, figures: undefined };
      this.links.set(link.id, entry);
    }
    const cur = readSend(report.values(), performance.now());
    const prev = entry.prev;
    entry.prev = cur;
    if (!cur || !prev) return;
    entry.figures = sendFigures(prev, cur, this.opts.minPackets);
    const capKbps = this.o.media()?.maxVideoBitrateKbps;
    const before = entry.state.level;
    entry.state = nextState(entry.state, entry.figures, cur.atMs, { capKbps }, this.opts);
    if (entry.state.level !== before) {
      await this.apply(entry, capKbps);
      this.o.changed();
    }
  }

  /** Puts the video sender's one encoding at the entry's level (a simulcast sender is left alone). */
  async apply(entry, capKbps) {
    const sender = entry.link.transceivers?.video?.sender;
    if (!sender?.track || entry.link.closed) return;
    const want = levelEncoding(entry.state.level, entry.state.baseKbps, capKbps);
    const params = sender.getParameters();
    if ((params.encodings?.length ?? 0) !== 1) return;
    const e = params.encodings[0];
    if (want.maxBitrateKbps === undefined) delete e.maxBitrate;
    else e.maxBitrate = want.maxBitrateKbps * 1000;
    e.scaleResolutionDownBy = want.scale;
    capEncoding(e, 'video', this.o.media());
    try {
      await sender.setParameters(params);
      entry.applied = { maxBitrateKbps: e.maxBitrate === undefined ? undefined : e.maxBitrate / 1000, scale: want.scale };
    } catch (err) {
      entry.link.lastError = String(err);
    }
  }

  /** Forgets links that are gone (a participant left, a re-join). */
  prune(ids) {
    let changed = false;
    for (const [id, entry] of this.links) {
      if (ids.has(id) && !entry.link.closed) continue;
      this.links.delete(id);
      changed ||= entry.state.level > 0;
    }
    if (changed) this.o.changed();
  }

  /** Why our video is lowered on some link: 'loss' before 'rtt'; '' when no link is lowered. */
  reason() {
    const reasons = new Set([...this.links.values()].filter((e) => e.state.level > 0).map((e) => e.state.reason));
    return reasons.has('loss') ? 'loss' : reasons.has('rtt') ? 'rtt' : '';
  }

  /** For the test hook: by participant id, the level, what the sender is set to, why, the last figures. */
  snapshot() {
    const out = {};
    for (const [id, e] of this.links) {
      out[id] = {
        level: e.state.level, reason: e.state.reason, maxBitrateKbps: e.applied?.maxBitrateKbps ?? null, scale: e.applied?.scale ?? 1,
        lossPct: e.figures?.lossPct ?? null, rttMs: e.figures?.rttMs ?? null, kbps: e.figures?.kbps ?? null,
      };
    }
    return out;
  }
}
