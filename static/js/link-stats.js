// What the call page measures of each connection with getStats(), every 2 s:
// - mesh rooms: a `stats {peer, packetLoss, jitterMs, rttMs, bitrateKbps, framesPerSecond?}`
//   report per participant whose media we receive (the server makes everyone's `quality` of
//   them; PROTOCOL.md "Quality reports"). SFU rooms send none: the server measures itself.
// - either room: the size and frame rate of each participant's video as it reaches us, and of
//   our own as we send it, for the tiles' quality cards.
// The figures are pure functions of two samples, so they are tested in Node.

/** The protocol's bounds on `stats` figures (a report outside them is refused). */
const BOUNDS = { packetLoss: 100, jitterMs: 60_000, rttMs: 60_000, bitrateKbps: 1_000_000, framesPerSecond: 1000 };

const fit = (x, max) => Math.round(Math.min(max, Math.max(0, Number.isFinite(x) ? x : 0)) * 10) / 10;

/**
 * One sample of a connection from its getStats() entries (`report.values()`): the round trip
 * of the selected candidate pair (ms, undefined before one is known) and each received RTP
 * stream by mid with its cumulative counters.
 * @param {Iterable<object>} entries
 * @param {number} atMs when it was taken (performance.now())
 */
export function readSample(entries, atMs) {
  const list = [...entries];
  const byId = new Map(list.map((s) => [s.id, s]));
  let pairId;
  for (const s of list) if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  const pair = (pairId && byId.get(pairId)) || list.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
  const out = { atMs, rttMs: pair?.currentRoundTripTime === undefined ? undefined : pair.currentRoundTripTime * 1000, inbound: new Map(), sent: undefined };
  for (const s of list) {
    if (s.type === 'inbound-rtp') {
      out.inbound.set(s.mid ?? s.id, {
        kind: s.kind,
        packetsReceived: s.packetsReceived ?? 0,
        packetsLost: s.packetsLost ?? 0,
        bytes: (s.bytesReceived ?? 0) + (s.headerBytesReceived ?? 0),
        jitterMs: (s.jitter ?? 0) * 1000,
        framesDecoded: s.framesDecoded,
        width: s.frameWidth,
        height: s.frameHeight,
        fps: s.framesPerSecond,
      });
    } else if (s.type === 'outbound-rtp' && s.kind === 'video' && (s.frameWidth ?? 0) * (s.frameHeight ?? 0) > (out.sent?.width ?? 0) * (out.sent?.height ?? 0)) {
      // Simulcast: one entry per encoding; the largest is what the best-placed receiver gets.
      out.sent = { width: s.frameWidth, height: s.frameHeight, fps: s.framesPerSecond };
    }
  }
  return out;
}

/** The streams of `sample` that carried something, summed: what one participant sends us. */
function totals(sample) {
  const t = { packetsReceived: 0, packetsLost: 0, bytes: 0, audioJitter: undefined, videoJitter: undefined, frames: undefined };
  for (const s of sample.inbound.values()) {
    if (s.packetsReceived === 0) continue;
    t.packetsReceived += s.packetsReceived;
    t.packetsLost += s.packetsLost;
    t.bytes += s.bytes;
    if (s.kind === 'audio') t.audioJitter = Math.max(t.audioJitter ?? 0, s.jitterMs);
    else {
      t.videoJitter = Math.max(t.videoJitter ?? 0, s.jitterMs);
      t.frames = (t.frames ?? 0) + (s.framesDecoded ?? 0);
    }
  }
  return t;
}

/**
 * The `stats` figures for one participant over the interval from `prev` to `cur` (samples of
 * its connection), or undefined when there is nothing fair to say: no earlier sample (the
 * first one is where the first interval starts), no media received from it yet, or its camera
 * is on (`video`) and no video has reached us yet (its bitrate would look low).
 * @param {ReturnType<typeof readSample> | undefined} prev
 * @param {ReturnType<typeof readSample>} cur
 * @param {boolean} video the participant has its camera or screen on
 */
export function statsFigures(prev, cur, video) {
  if (!prev) return undefined;
  const a = totals(prev);
  const b = totals(cur);
  const dt = cur.atMs - prev.atMs;
  if (dt <= 0 || b.packetsReceived === 0) return undefined;
  if (video && b.frames === undefined) return undefined;
  // packetsLost can shrink when late packets arrive after being counted lost: never negative.
  const received = Math.max(0, b.packetsReceived - a.packetsReceived);
  const lost = Math.max(0, b.packetsLost - a.packetsLost);
  const figures = {
    packetLoss: fit(received + lost > 0 ? (100 * lost) / (received + lost) : 0, BOUNDS.packetLoss),
    // What a call hears: the audio's jitter when audio arrives.
    jitterMs: fit(b.audioJitter ?? b.videoJitter ?? 0, BOUNDS.jitterMs),
    rttMs: fit(cur.rttMs ?? 0, BOUNDS.rttMs),
    bitrateKbps: fit(((b.bytes - a.bytes) * 8) / dt, BOUNDS.bitrateKbps),
  };
  if (video) figures.framesPerSecond = fit((((b.frames ?? 0) - (a.frames ?? 0)) * 1000) / dt, BOUNDS.framesPerSecond);
  return figures;
}

/** The largest video among `sample`'s streams in `mids` (all when undefined): {width, height, fps}, or undefined. */
export function videoSize(sample, mids) {
  let best;
  for (const [mid, s] of sample.inbound) {
    if (s.kind !== 'video' || (mids && !mids.includes(mid)) || !s.width) continue;
    if (!best || s.width * s.height > best.width * best.height) best = { width: s.width, height: s.height, fps: s.fps };
  }
  return best;
}

export class LinkStats {
  /**
   * @param {object} o
   * @param {object} o.s the call page's state (call.js): topology, participants, links
   * @param {(msg: object) => void} o.send signaling
   * @param {(id: string, video: {width: number, height: number, fps?: number} | undefined) => void} o.video
   *   the size of participant `id`'s video as it reaches us ('self': ours as we send it)
   * @param {(link: object, report: RTCStatsReport) => Promise<void>} [o.sampled] each mesh link's
   *   report, for what adapts to it (adapt.js), so a connection's stats are read once a round
   */
  constructor(o) {
    this.o = o;
    /** The previous sample of each connection. */
    this.prev = new WeakMap();
    /** The last `stats` sent about each participant (the test hook shows them). */
    this.sent = new Map();
    this.busy = false;
  }

  /** Samples every connected link once; mesh rooms report each participant we receive. */
  async tick() {
    // getStats() can take long on a busy machine: one round at a time.
    if (this.busy) return;
    this.busy = true;
    try {
      await this.sample();
    } finally {
      this.busy = false;
    }
  }

  /** One round: getStats() of each connected link in turn. */
  async sample() {
    const { s } = this.o;
    for (const id of this.sent.keys()) if (!s.participants.has(id)) this.sent.delete(id);
    let sent;
    for (const link of [...s.links.values()]) {
      if (link.closed || link.pc.connectionState !== 'connected') continue;
      let report;
      try {
        report = await link.pc.getStats();
      } catch {
        continue; // closed meanwhile
      }
      const cur = readSample(report.values(), performance.now());
      const prev = this.prev.get(link);
      this.prev.set(link, cur);
      if (cur.sent && (!sent || cur.sent.width * cur.sent.height > sent.width * sent.height)) sent = cur.sent;
      if (link.forwarded) {
        // SFU: one connection carries every publisher's tracks, each in its own section.
        for (const id of new Set([...link.forwarded.values()].map((f) => f.publisher))) {
          this.o.video(id, videoSize(cur, [...link.forwarded.values()].filter((f) => f.publisher === id).map((f) => f.mid)));
        }
        continue;
      }
      this.o.video(link.id, videoSize(cur));
      this.report(link.id, prev, cur);
      await this.o.sampled?.(link, report);
    }
    this.o.video('self', sent);
  }

  report(id, prev, cur) {
    const { s, send } = this.o;
    const p = s.participants.get(id);
    if (!p || s.topology !== 'mesh') return;
    const figures = statsFigures(prev, cur, Boolean(p.video || p.screen));
    if (!figures) return;
    const msg = { type: 'stats', peer: id, ...figures };
    send(msg);
    this.sent.set(id, msg);
  }
}
