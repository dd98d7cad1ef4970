/**
 * Runs a load test: starts testers at `rampPerSecond`, holds everyone for `durationSeconds`
 * after the last one started, samples the generator (CPU, RSS, event-loop lag) and the
 * testers' counters once a second for the live view, then rolls the final counters up into
 * a result. A tester that fails is counted, never fatal.
 *
 * The caller owns node-datachannel's lifetime: call `cleanupRtc()` once done with WebRTC
 * (the CLI does), since other PeerConnections may live in the same process.
 */
import { createSocket } from 'node:dgram';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseRoomUrl } from '../client/room-url.js';
import { silentLogger, type Logger } from '../log.js';
import { openLoadAudio, SharedAudio } from './media.js';
import { httpTesters } from './http-tester.js';
import { peerCount, validateParams, type LoadTestInput, type LoadTestParams, type PcmLoadParams, type WebRtcLoadParams, type WhipLoadParams } from './params.js';
import { PcmBroadcast, pcmTesters } from './pcm-tester.js';
import {
  checkThresholds, generatorFigures, LatencyHistogram, summarize,
  type GeneratorFigures, type GeneratorSample, type LoadSummary, type PeerFigures, type Violation,
} from './stats.js';
import { WebRtcTester, type TesterContext } from './tester.js';
import { loadVideoLayers } from './video.js';
import type { Topology } from '../protocol/signaling.js';

/** One simulated peer, whatever the mode. */
export interface Tester {
  start(): Promise<void>;
  readonly joined: boolean;
  /** Stop sending (PCM: so frames in flight are not counted lost). */
  quiesce?(): void;
  snapshot(now: number): PeerFigures;
  close(): Promise<void>;
  /** The kind of room it joined (WebRTC testers, once joined). */
  readonly topology?: Topology | undefined;
}

export type Phase = 'ramping' | 'holding' | 'stopping';

/** What the live view shows, once a second. */
export interface ProgressSnapshot {
  /** Seconds since the start. */
  t: number;
  phase: Phase;
  total: number;
  started: number;
  joined: number;
  /** Peers whose every link connected. */
  connected: number;
  tracksExpected: number;
  tracksReceived: number;
  /** Packets received per second over the last interval. */
  packetsPerSecond: number;
  /** kbit/s received over the last interval. */
  receivedKbps: number;
  lossPercent: number;
  cpuPercent: number;
  rssMB: number;
  loopLagP99Ms: number;
  errors: number;
}

/** Everything a run measured (the `--json` file; README "Load testing" documents it). */
export interface LoadTestResult {
  version: 1;
  mode: 'webrtc' | 'pcm' | 'whip';
  /** The rooms' topology as the server said (WebRTC; 'mixed' if rooms differed, null if none joined or PCM). */
  topology: Topology | 'mixed' | null;
  startedAt: string;
  /** Wall seconds from the first start to the final snapshot. */
  elapsedSeconds: number;
  /** The validated parameters (test hooks and token left out). */
  params: Omit<WebRtcLoadParams, 'hooks' | 'token'> | Omit<PcmLoadParams, 'token'> | Omit<WhipLoadParams, 'token' | 'headers'>;
  summary: LoadSummary;
  generator: GeneratorFigures;
  violations: Violation[];
  passed: boolean;
  peers: PeerFigures[];
}

export interface RunOptions {
  log?: Logger;
  /** Called about once a second with live figures. */
  onProgress?: (p: ProgressSnapshot) => void;
  /** Aborting ends the hold early (Ctrl-C); the result is still computed. */
  signal?: AbortSignal;
}

const SAMPLE_MS = 1000;
const LOOP_RESOLUTION_MS = 20;
/** PCM frames still in flight when senders stop get this long to arrive, ms. */
const DRAIN_MS = 400;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function webRtcTesters(params: WebRtcLoadParams, ctx: Omit<TesterContext, 'params'>): WebRtcTester[] {
  const roomSize = params.publishers + params.subscribers;
  const out: WebRtcTester[] = [];
  // Round-robin over rooms, so every room fills at the same pace during the ramp.
  for (let i = 0; i < params.rooms * roomSize; i++) {
    const r = i % params.rooms;
    const seat = Math.floor(i / params.rooms);
    out.push(new WebRtcTester({ ...ctx, params }, {
      index: i, room: `${params.roomPrefix}-${r}`, publisher: seat < params.publishers, roomSize, publishersInRoom: params.publishers,
    }));
  }
  return out;
}

/** A UDP port free right now on `address` (the OS picks it). */
function freeUdpPort(address = '0.0.0.0'): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    sock.once('error', reject);
    sock.bind(0, address, () => {
      const { port } = sock.address();
      sock.close(() => resolve(port));
    });
  });
}

/** Runs one load test to its end and returns every figure; throws only on bad parameters. */
export async function runLoadTest(input: LoadTestInput | LoadTestParams, options: RunOptions = {}): Promise<LoadTestResult> {
  const params = validateParams(input as LoadTestInput);
  const log = options.log ?? silentLogger();
  const latency = new LatencyHistogram();
  let testers: Tester[];
  let skippedFrames: () => number;
  let stopMedia: () => void;
  if (params.mode === 'webrtc') {
    const audio = new SharedAudio(await openLoadAudio(params.audio, params.audioFile));
    const wsUrl = parseRoomUrl(params.url, 'x').wsUrl;
    const sfuUdpPort = await freeUdpPort(params.bindAddress);
    testers = webRtcTesters(params, { wsUrl, audio, latency, log, sfuUdpPort, ...(params.video && { videoLayers: loadVideoLayers() }) });
    audio.start();
    skippedFrames = () => audio.skippedFrames;
    stopMedia = () => audio.stop();
  } else if (params.mode === 'whip') {
    const audio = new SharedAudio(await openLoadAudio(params.audio, params.audioFile));
    testers = httpTesters({ params, audio, latency, log, ...(params.video && { videoLayers: loadVideoLayers() }) });
    audio.start();
    skippedFrames = () => audio.skippedFrames;
    stopMedia = () => audio.stop();
  } else {
    const broadcast = new PcmBroadcast(params.codec);
    testers = pcmTesters({ params, broadcast, latency, log }, params.pairs * 2);
    broadcast.start();
    skippedFrames = () => broadcast.skippedFrames;
    stopMedia = () => broadcast.stop();
  }

  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const samples: GeneratorSample[] = [];
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  let cpuPrev = process.cpuUsage();
  let wallPrev = t0;
  let phase: Phase = 'ramping';
  let started = 0;
  let lastPackets = 0;
  let lastBytes = 0;
  const sample = () => {
    const now = performance.now();
    const cpu = process.cpuUsage(cpuPrev);
    const interval = Math.max(1, now - wallPrev);
    const s: GeneratorSample = {
      t: (now - t0) / 1000,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / interval) * 100,
      rssMB: process.memoryUsage.rss() / 2 ** 20,
      // The histogram holds whole timer periods: the lag is what exceeds the period.
      loopLagP99Ms: Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
    };
    cpuPrev = process.cpuUsage();
    wallPrev = now;
    loop.reset();
    samples.push(s);
    if (options.onProgress) {
      const figures = testers.slice(0, started).map((t) => t.snapshot(now));
      const summary = summarize(figures, latency.distribution());
      const bytes = figures.reduce((n, f) => f.streams.reduce((m, st) => m + st.bytes, n), 0);
      const snapshot: ProgressSnapshot = {
        t: s.t, phase, total: testers.length, started,
        joined: summary.peers.joined, connected: summary.peers.connected,
        tracksExpected: summary.tracks.expected, tracksReceived: summary.tracks.received,
        packetsPerSecond: ((summary.packets.received - lastPackets) * 1000) / interval,
        receivedKbps: ((bytes - lastBytes) * 8) / interval, lossPercent: summary.packets.lossPercent,
        cpuPercent: s.cpuPercent, rssMB: s.rssMB, loopLagP99Ms: s.loopLagP99Ms,
        errors: Object.values(summary.errors).reduce((n, v) => n + v, 0),
      };
      try {
        options.onProgress(snapshot);
      } catch (err) {
        log.error({ err }, 'onProgress listener threw'); // user code must not stop the run
      }
      lastPackets = summary.packets.received;
      lastBytes = bytes;
    }
  };
  const sampler = setInterval(sample, SAMPLE_MS);

  const starts: Promise<void>[] = [];
  try {
    for (const [i, tester] of testers.entries()) {
      await sleep(t0 + (i * 1000) / params.rampPerSecond - performance.now(), options.signal);
      if (options.signal?.aborted) break;
      starts.push(tester.start());
      started++;
    }
    await Promise.all(starts);
    phase = 'holding';
    log.info({ peers: peerCount(params), joined: testers.filter((t) => t.joined).length }, 'ramp done');
    await sleep(params.durationSeconds * 1000, options.signal);
    phase = 'stopping';
    for (const t of testers) t.quiesce?.();
    if (params.mode === 'pcm') await sleep(DRAIN_MS);
    sample();
  } finally {
    clearInterval(sampler);
    loop.disable();
  }
  const end = performance.now();
  const peers = testers.slice(0, started).map((t) => t.snapshot(end));
  stopMedia();
  await Promise.all(testers.map((t) => t.close()));

  const summary = summarize(peers, latency.distribution());
  const violations = checkThresholds(summary, params.thresholds);
  // Test hooks are code, and a token or headers may be secrets: none goes into a report file.
  const { hooks: _hooks, token: _token, headers: _headers, ...rest } = params as LoadTestParams & { hooks?: unknown; headers?: unknown };
  const shown = rest as LoadTestResult['params'];
  const topologies = new Set(testers.flatMap((t) => (t.topology ? [t.topology] : [])));
  return {
    version: 1,
    mode: params.mode,
    topology: topologies.size > 1 ? 'mixed' : ([...topologies][0] ?? null),
    startedAt,
    elapsedSeconds: (end - t0) / 1000,
    params: shown,
    summary,
    generator: generatorFigures(samples, skippedFrames()),
    violations,
    passed: violations.length === 0,
    peers,
  };
}
