/**
 * Pure roll-ups of a load test: testers hand in plain per-peer counters (PeerFigures), the
 * runner hands in generator samples, and these functions turn them into distributions, a
 * summary, a verdict on the generator itself and the threshold check. No I/O, no clock.
 */
import type { LoadThresholds } from './params.js';

/** p50/p95/p99 of a set of values; null fields when there was nothing to measure. */
export interface Distribution {
  count: number;
  min: number | null;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** One received stream (one remote publisher heard by one peer). */
export interface StreamFigures {
  /** The publisher's participant id. */
  from: string;
  packets: number;
  /** Packets expected from the first to the highest sequence number (RFC 3550 A.3). */
  expected: number;
  lost: number;
  lossPercent: number;
  bytes: number;
  /** Bytes received (RTP headers included; PCM: frame bytes) over the stream's life, kbit/s (streamKbps). */
  kbps: number;
  /** RFC 3550 interarrival jitter, ms. */
  jitterMs: number;
  /** Mean one-way latency of its packets, ms (null when no send time was known). */
  latencyMeanMs: number | null;
}

/** One received camera (`--video`, SFU rooms): one publisher's forwarded video heard by one peer. */
export interface VideoStreamFigures {
  from: string;
  packets: number;
  expected: number;
  lost: number;
  bytes: number;
  kbps: number;
  /** Frames completed (RTP marker bits) and key frames among them. */
  frames: number;
  keyframes: number;
  framesPerSecond: number;
  /** The size of the last key frame (the layer forwarded last), '' before one. */
  size: string;
}

/** One link (PeerConnection) to another member, timed from this peer's start. */
export interface LinkFigures {
  remote: string;
  /** We offered (we were the newcomer): the setup times below are ours to report. */
  initiator: boolean;
  remotePublishes: boolean;
  /** Start → the first offer/answer exchange done (signaling), ms (absent in older reports). */
  negotiatedMs?: number | null;
  /** Start → ICE connected, before DTLS, ms. */
  iceMs?: number | null;
  /** Start → ICE and DTLS connected, ms. */
  connectMs: number | null;
  /** Start → first RTP packet from this remote, ms. */
  firstPacketMs: number | null;
}

/** Plain counters of one simulated peer at the end of the run. */
export interface PeerFigures {
  index: number;
  /** Participant id the server gave (null if it never joined). */
  id: string | null;
  room: string;
  role: 'publisher' | 'subscriber';
  /** Start → `joined`, ms. */
  joinMs: number | null;
  peersExpected: number;
  peersConnected: number;
  tracksExpected: number;
  tracksReceived: number;
  links: LinkFigures[];
  streams: StreamFigures[];
  /** `--video`: the cameras expected (the room's other video publishers) and received. */
  video: { expected: number; streams: VideoStreamFigures[] };
  /** What we sent, over every link; kbps from our first packet to the end. */
  sent: { packets: number; bytes: number; kbps: number };
  /** RTT from the RRs of each remote we send to, ms (latest report each). */
  rttMs: number[];
  errors: Record<string, number>;
  /** WHIP/WHEP peers: start → offer ready (ICE gathering), → the POST's 201 (answer), → ICE and DTLS up, ms. */
  http?: { offerMs: number | null; answerMs: number | null; iceMs: number | null; connectedMs: number | null };
}

/** One sample of the generator process, taken about once a second. */
export interface GeneratorSample {
  /** Seconds since the run started. */
  t: number;
  /** Process CPU (all threads) over the last interval, percent of one core. */
  cpuPercent: number;
  rssMB: number;
  /** p99 event-loop delay over the last interval, ms. */
  loopLagP99Ms: number;
  /** What the run was doing (absent in older reports): the verdict judges the hold. */
  phase?: 'ramping' | 'holding' | 'stopping';
}

export interface GeneratorFigures {
  cpuPercent: Distribution;
  rssMB: { max: number | null; end: number | null };
  loopLagP99Ms: Distribution;
  /** Frames the shared pacer skipped because it ran late (the generator could not keep up). */
  pacerSkippedFrames: number;
  /** True when the figures may describe the generator, not the server. */
  bottleneck: boolean;
  reasons: string[];
  samples: GeneratorSample[];
}

export interface LoadSummary {
  peers: { total: number; joined: number; connected: number; withErrors: number };
  tracks: { expected: number; received: number };
  /** offerMs/answerMs: WHIP/WHEP runs only (empty otherwise); joinMs is the answer there too. */
  setup: { joinMs: Distribution; negotiatedMs: Distribution; offerMs: Distribution; answerMs: Distribution; iceMs: Distribution; iceConnectedMs: Distribution; firstPacketMs: Distribution };
  packets: { sent: number; received: number; expected: number; lost: number; lossPercent: number };
  bitrate: { sentKbps: number; receivedKbps: number; perStreamKbps: Distribution };
  streamLossPercent: Distribution;
  jitterMs: Distribution;
  rttMs: Distribution;
  latencyMs: Distribution;
  /** `--video` runs only (null otherwise). */
  video: VideoSummary | null;
  errors: Record<string, number>;
}

export interface VideoSummary {
  tracks: { expected: number; received: number };
  packets: { received: number; expected: number; lost: number; lossPercent: number };
  frames: number;
  keyframes: number;
  receivedKbps: number;
  framesPerSecond: Distribution;
  /** How many received cameras were last at each size (the layer the server forwarded). */
  sizes: Record<string, number>;
}

export interface Violation {
  /** The CLI flag that set the limit. */
  threshold: '--max-loss' | '--max-setup-p95' | '--max-jitter';
  limit: number;
  actual: number | null;
}

/** Above this share of one core the generator's own scheduling skews the figures. */
export const CPU_BOTTLENECK_PERCENT = 85;
/** Event-loop delay (p99) above this means packets sit in our queue, not the network's. */
export const LOOP_LAG_BOTTLENECK_MS = 50;

/** Audio frames last 20 ms: a stream's time runs to the end of its last packet's frame. */
const FRAME_MS = 20;

/** kbit/s of a stream from its first packet to the end of its last (0 before any). */
export function streamKbps(bytes: number, firstAtMs: number, lastAtMs: number): number {
  return bytes > 0 ? (bytes * 8) / (lastAtMs - firstAtMs + FRAME_MS) : 0;
}

const EMPTY: Distribution = { count: 0, min: null, mean: null, p50: null, p95: null, p99: null, max: null };

/** Nearest-rank percentile of sorted values. */
function rank(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { ...EMPTY };
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    min: sorted[0]!,
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
    p50: rank(sorted, 50),
    p95: rank(sorted, 95),
    p99: rank(sorted, 99),
    max: sorted[sorted.length - 1]!,
  };
}

/**
 * Per-packet latencies without keeping every sample: log buckets 2 % wide from 10 µs (a
 * 0.1 ms latency lands within 0.002 ms), so quantiles over millions of packets cost 512
 * counters. Values report as their bucket's geometric middle.
 */
/** A LatencyHistogram as plain data. */
export interface HistogramState { buckets: [number, number][]; count: number; sum: number; min: number; max: number }

export class LatencyHistogram {
  static readonly MIN_MS = 0.01;
  static readonly GROWTH = 1.02;
  readonly counts = new Float64Array(1024);
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  add(ms: number): void {
    const v = ms > LatencyHistogram.MIN_MS ? ms : LatencyHistogram.MIN_MS;
    const i = Math.min(this.counts.length - 1, Math.floor(Math.log(v / LatencyHistogram.MIN_MS) / Math.log(LatencyHistogram.GROWTH)));
    this.counts[i]!++;
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  quantile(p: number): number | null {
    if (this.count === 0) return null;
    const target = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= target) {
        const mid = LatencyHistogram.MIN_MS * LatencyHistogram.GROWTH ** (i + 0.5);
        return Math.min(this.max, Math.max(this.min, mid));
      }
    }
    return this.max;
  }

  /** Plain data (for another process): the non-empty buckets and the totals. */
  state(): HistogramState {
    const buckets: [number, number][] = [];
    this.counts.forEach((n, i) => { if (n > 0) buckets.push([i, n]); });
    return { buckets, count: this.count, sum: this.sum, min: this.min, max: this.max };
  }

  /** Adds another histogram's state (a worker's): the result is as if every value came here. */
  merge(s: HistogramState): void {
    for (const [i, n] of s.buckets) this.counts[i] = this.counts[i]! + n;
    this.count += s.count;
    this.sum += s.sum;
    // JSON has no Infinity: an empty worker's min/max come as null.
    if (s.count > 0) {
      this.min = Math.min(this.min, s.min);
      this.max = Math.max(this.max, s.max);
    }
  }

  distribution(): Distribution {
    if (this.count === 0) return { ...EMPTY };
    return { count: this.count, min: this.min, mean: this.sum / this.count, p50: this.quantile(50), p95: this.quantile(95), p99: this.quantile(99), max: this.max };
  }
}

function addErrors(into: Record<string, number>, from: Record<string, number>): void {
  for (const [kind, n] of Object.entries(from)) into[kind] = (into[kind] ?? 0) + n;
}

/** The whole run from its peers' counters (latency comes pre-bucketed: see LatencyHistogram). */
export function summarize(peers: readonly PeerFigures[], latency: Distribution): LoadSummary {
  const streams = peers.flatMap((p) => p.streams);
  const ours = peers.flatMap((p) => p.links.filter((l) => l.initiator));
  const errors: Record<string, number> = {};
  for (const p of peers) addErrors(errors, p.errors);
  const received = streams.reduce((n, s) => n + s.packets, 0);
  const expected = streams.reduce((n, s) => n + s.expected, 0);
  const lost = streams.reduce((n, s) => n + s.lost, 0);
  return {
    peers: {
      total: peers.length,
      joined: peers.filter((p) => p.joinMs !== null).length,
      connected: peers.filter((p) => p.joinMs !== null && p.peersConnected >= p.peersExpected).length,
      withErrors: peers.filter((p) => Object.keys(p.errors).length > 0).length,
    },
    tracks: { expected: peers.reduce((n, p) => n + p.tracksExpected, 0), received: peers.reduce((n, p) => n + p.tracksReceived, 0) },
    setup: {
      joinMs: distribution(peers.flatMap((p) => (p.joinMs === null ? [] : [p.joinMs]))),
      offerMs: distribution(peers.flatMap((p) => (p.http?.offerMs == null ? [] : [p.http.offerMs]))),
      answerMs: distribution(peers.flatMap((p) => (p.http?.answerMs == null ? [] : [p.http.answerMs]))),
      negotiatedMs: distribution(ours.flatMap((l) => (l.negotiatedMs == null ? [] : [l.negotiatedMs]))),
      iceMs: distribution([
        ...peers.flatMap((p) => (p.http?.iceMs == null ? [] : [p.http.iceMs])),
        ...(peers.some((p) => p.http) ? [] : ours.flatMap((l) => (l.iceMs == null ? [] : [l.iceMs]))),
      ]),
      iceConnectedMs: distribution(ours.flatMap((l) => (l.connectMs === null ? [] : [l.connectMs]))),
      firstPacketMs: distribution(ours.flatMap((l) => (l.remotePublishes && l.firstPacketMs !== null ? [l.firstPacketMs] : []))),
    },
    packets: {
      sent: peers.reduce((n, p) => n + p.sent.packets, 0),
      received,
      expected,
      lost,
      lossPercent: expected > 0 ? (100 * lost) / expected : 0,
    },
    bitrate: {
      sentKbps: peers.reduce((n, p) => n + p.sent.kbps, 0),
      receivedKbps: streams.reduce((n, s) => n + s.kbps, 0),
      perStreamKbps: distribution(streams.map((s) => s.kbps)),
    },
    streamLossPercent: distribution(streams.map((s) => s.lossPercent)),
    jitterMs: distribution(streams.map((s) => s.jitterMs)),
    rttMs: distribution(peers.flatMap((p) => p.rttMs)),
    latencyMs: latency,
    video: summarizeVideo(peers),
    errors,
  };
}

function summarizeVideo(peers: readonly PeerFigures[]): VideoSummary | null {
  const expectedTracks = peers.reduce((n, p) => n + p.video.expected, 0);
  const streams = peers.flatMap((p) => p.video.streams);
  if (expectedTracks === 0 && streams.length === 0) return null;
  const sum = (f: (s: VideoStreamFigures) => number) => streams.reduce((n, s) => n + f(s), 0);
  const expected = sum((s) => s.expected);
  const lost = sum((s) => s.lost);
  const sizes: Record<string, number> = {};
  for (const s of streams) if (s.size) sizes[s.size] = (sizes[s.size] ?? 0) + 1;
  return {
    tracks: { expected: expectedTracks, received: new Set(peers.flatMap((p) => p.video.streams.filter((s) => s.frames > 0).map((s) => `${p.index}:${s.from}`))).size },
    packets: { received: sum((s) => s.packets), expected, lost, lossPercent: expected > 0 ? (100 * lost) / expected : 0 },
    frames: sum((s) => s.frames),
    keyframes: sum((s) => s.keyframes),
    receivedKbps: sum((s) => s.kbps),
    // Cameras that delivered frames: a connection remade mid-run leaves empty ones behind.
    framesPerSecond: distribution(streams.filter((s) => s.frames > 0).map((s) => s.framesPerSecond)),
    sizes,
  };
}

/** Is the generator the bottleneck? CPU near a core, a lagging event loop, or a pacer that skipped frames. */
export function generatorFigures(samples: readonly GeneratorSample[], pacerSkippedFrames: number): GeneratorFigures {
  const cpu = distribution(samples.map((s) => s.cpuPercent));
  const lag = distribution(samples.map((s) => s.loopLagP99Ms));
  // Judged over the hold when there is one: a ramp's bursts of connection setup lag the loop
  // for a moment without the steady figures suffering.
  const held = samples.filter((s) => s.phase === 'holding' || s.phase === 'stopping');
  const judged = held.length >= 2 ? held : samples;
  const during = judged === held ? ' while holding' : '';
  const jCpu = distribution(judged.map((s) => s.cpuPercent));
  const jLag = distribution(judged.map((s) => s.loopLagP99Ms));
  const reasons: string[] = [];
  if (jCpu.p50 !== null && jCpu.p50 > CPU_BOTTLENECK_PERCENT) reasons.push(`CPU ${jCpu.p50.toFixed(0)} % of a core (median${during}) > ${CPU_BOTTLENECK_PERCENT} %`);
  if (jLag.p95 !== null && jLag.p95 > LOOP_LAG_BOTTLENECK_MS) reasons.push(`event-loop lag p99 ${jLag.p95.toFixed(0)} ms${during} > ${LOOP_LAG_BOTTLENECK_MS} ms`);
  // Over 1 % of the run's frames sent late (one stall of 20 ms is no saturation).
  if (pacerSkippedFrames > (samples.length * 50) / 100) reasons.push(`the audio pacer skipped ${pacerSkippedFrames} frames`);
  const last = samples[samples.length - 1];
  return {
    cpuPercent: cpu,
    rssMB: { max: samples.length ? Math.max(...samples.map((s) => s.rssMB)) : null, end: last ? last.rssMB : null },
    loopLagP99Ms: lag,
    pacerSkippedFrames,
    bottleneck: reasons.length > 0,
    reasons,
    samples: [...samples],
  };
}

/** Thresholds exceeded, in flag order; empty means the run passes. A missing figure fails its threshold. */
export function checkThresholds(s: LoadSummary, t: LoadThresholds): Violation[] {
  const out: Violation[] = [];
  if (t.maxLossPercent !== undefined && !(s.packets.expected > 0 && s.packets.lossPercent <= t.maxLossPercent)) {
    out.push({ threshold: '--max-loss', limit: t.maxLossPercent, actual: s.packets.expected > 0 ? s.packets.lossPercent : null });
  }
  if (t.maxSetupP95Ms !== undefined && !(s.setup.firstPacketMs.p95 !== null && s.setup.firstPacketMs.p95 <= t.maxSetupP95Ms)) {
    out.push({ threshold: '--max-setup-p95', limit: t.maxSetupP95Ms, actual: s.setup.firstPacketMs.p95 });
  }
  if (t.maxJitterMs !== undefined && !(s.jitterMs.p95 !== null && s.jitterMs.p95 <= t.maxJitterMs)) {
    out.push({ threshold: '--max-jitter', limit: t.maxJitterMs, actual: s.jitterMs.p95 });
  }
  return out;
}
