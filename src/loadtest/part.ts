/**
 * One process's share of a load test: builds every tester of the run, keeps those that fall
 * to this worker (`--workers N`: every Nth peer; PCM: every Nth pair, whose two ends must share
 * a process), starts them on the run's ramp (timed from one wall-clock start, so N workers ramp
 * as one), holds until told, then stops and hands back its peers' figures, its latency
 * histogram and its generator samples. The runner runs one part in-process, and with workers
 * one more in each child process (worker-main.ts). A tester that fails is counted, never fatal.
 */
import { createSocket } from 'node:dgram';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseRoomUrl } from '../client/room-url.js';
import type { Logger } from '../log.js';
import type { Topology } from '../protocol/signaling.js';
import { httpTester } from './http-tester.js';
import { epochNow, openLoadAudio, SharedAudio } from './media.js';
import { peerCount, type LoadTestParams, type WebRtcLoadParams } from './params.js';
import { PcmBroadcast, pcmTesters } from './pcm-tester.js';
import { LatencyHistogram, type GeneratorSample, type HistogramState, type PeerFigures } from './stats.js';
import { WebRtcTester, type TesterContext } from './tester.js';
import { loadVideoLayers } from './video.js';

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

/** Which share of the run a part is, and when the run started (epoch ms, the same for all). */
export interface PartPlace { worker: number; workers: number; t0Epoch: number }

export interface PartControl {
  /** After this part's ramp: resolves when everyone should stop (one process: after the hold). */
  hold(): Promise<void>;
  /** Every tester of this part was started and its start settled. */
  ramped?(): void;
  /** About once a second: this part's figures so far and the generator's sample. */
  tick?(figures: PeerFigures[], sample: GeneratorSample, phase: Phase, started: number): void;
  /** Aborting ends the ramp early (Ctrl-C). */
  signal?: AbortSignal;
}

export interface PartResult {
  worker: number;
  /** Testers that fell to this part. */
  total: number;
  peers: PeerFigures[];
  latency: HistogramState;
  samples: GeneratorSample[];
  skippedFrames: number;
  topologies: Topology[];
}

const SAMPLE_MS = 1000;
const LOOP_RESOLUTION_MS = 20;
/** PCM frames still in flight when senders stop get this long to arrive, ms. */
const DRAIN_MS = 400;

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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

/** The WebRTC peer at `i`: rooms round-robin, so every room fills at the same pace during the ramp. */
function webRtcTester(params: WebRtcLoadParams, ctx: Omit<TesterContext, 'params'>, i: number): WebRtcTester {
  const roomSize = params.publishers + params.subscribers;
  const seat = Math.floor(i / params.rooms);
  return new WebRtcTester({ ...ctx, params }, {
    index: i, room: `${params.roomPrefix}-${i % params.rooms}`, publisher: seat < params.publishers, roomSize, publishersInRoom: params.publishers,
  });
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

/** Whether the peer at `index` is this worker's: every Nth one (PCM: every Nth pair). */
function mine(params: LoadTestParams, place: PartPlace, index: number): boolean {
  const unit = params.mode === 'pcm' ? Math.floor(index / 2) : index;
  return unit % place.workers === place.worker;
}

/**
 * This part's testers with their global indexes, the shared media they send, and how to make
 * the peer at an index anew (churn; PCM pairs are made together and do not churn).
 */
async function build(params: LoadTestParams, place: PartPlace, latency: LatencyHistogram, log: Logger) {
  let all: Tester[];
  let make: ((index: number) => Tester) | undefined;
  let media: { start(): void; stop(): void; skippedFrames: number };
  if (params.mode === 'pcm') {
    const broadcast = new PcmBroadcast(params.codec);
    all = pcmTesters({ params, broadcast, latency, log }, params.pairs * 2);
    media = broadcast;
  } else {
    const audio = new SharedAudio(await openLoadAudio(params.audio, params.audioFile));
    const videoLayers = params.video ? { videoLayers: loadVideoLayers() } : {};
    if (params.mode === 'whip') {
      const ctx = { params, audio, latency, log, ...videoLayers };
      make = (i) => httpTester(ctx, i);
    } else {
      const ctx = { wsUrl: parseRoomUrl(params.url, 'x').wsUrl, audio, latency, log, sfuUdpPort: await freeUdpPort(params.bindAddress), ...videoLayers };
      make = (i) => webRtcTester(params, ctx, i);
    }
    all = Array.from({ length: peerCount(params) }, (_, i) => make!(i));
    media = audio;
  }
  const testers = all.flatMap((tester, index) => (mine(params, place, index) ? [{ tester, index }] : []));
  return { testers, media, make };
}

/**
 * `churnPerSecond`: during the hold, that many peers a second (this part's share) leave and
 * join again as new sessions, picked at random among those in; the ones that left keep their
 * figures. Returns what stops it and the figures of the sessions that ended.
 */
function churn(params: LoadTestParams, place: PartPlace, testers: { tester: Tester; index: number }[], make: ((index: number) => Tester) | undefined) {
  const ended: PeerFigures[] = [];
  const closing: Promise<void>[] = [];
  const rate = params.mode === 'pcm' ? 0 : params.churnPerSecond / place.workers;
  if (!make || rate <= 0 || testers.length === 0) return { ended, stop: async () => {} };
  const timer = setInterval(() => {
    const joined = testers.filter(({ tester }) => tester.joined);
    const entry = joined[Math.floor(Math.random() * joined.length)];
    if (!entry) return;
    ended.push(entry.tester.snapshot(performance.now()));
    closing.push(entry.tester.close());
    entry.tester = make(entry.index);
    void entry.tester.start();
  }, 1000 / rate);
  return { ended, stop: async () => { clearInterval(timer); await Promise.all(closing); } };
}

/** Runs this part to its end (see the module comment). */
export async function runPart(params: LoadTestParams, place: PartPlace, control: PartControl, log: Logger): Promise<PartResult> {
  const latency = new LatencyHistogram();
  const { testers, media, make } = await build(params, place, latency, log);
  let churning: ReturnType<typeof churn> | undefined;
  media.start();
  const samples: GeneratorSample[] = [];
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  const t0 = performance.now() - (epochNow() - place.t0Epoch);
  let cpuPrev = process.cpuUsage();
  let wallPrev = performance.now();
  let phase: Phase = 'ramping';
  let started = 0;
  const sample = () => {
    const now = performance.now();
    const cpu = process.cpuUsage(cpuPrev);
    const s: GeneratorSample = {
      t: (now - t0) / 1000,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / Math.max(1, now - wallPrev)) * 100,
      rssMB: process.memoryUsage.rss() / 2 ** 20,
      // The histogram holds whole timer periods: the lag is what exceeds the period.
      loopLagP99Ms: Math.max(0, loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
      phase,
    };
    cpuPrev = process.cpuUsage();
    wallPrev = now;
    loop.reset();
    samples.push(s);
    control.tick?.(testers.slice(0, started).map(({ tester }) => tester.snapshot(now)), s, phase, started);
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  const starts: Promise<void>[] = [];
  try {
    for (const { tester, index } of testers) {
      await sleep(place.t0Epoch + (index * 1000) / params.rampPerSecond - epochNow(), control.signal);
      if (control.signal?.aborted) break;
      starts.push(tester.start());
      started++;
    }
    await Promise.all(starts);
    phase = 'holding';
    log.info({ worker: place.worker, peers: testers.length, joined: testers.filter(({ tester }) => tester.joined).length }, 'ramp done');
    control.ramped?.();
    churning = churn(params, place, testers, make);
    await control.hold();
    await churning.stop();
    phase = 'stopping';
    for (const { tester } of testers) tester.quiesce?.();
    if (params.mode === 'pcm') await sleep(DRAIN_MS);
    sample();
  } finally {
    clearInterval(sampler);
    loop.disable();
  }
  const end = performance.now();
  // Sessions a churned peer ended come first: one entry per session, under the peer's index.
  const peers = [...(churning?.ended ?? []), ...testers.slice(0, started).map(({ tester }) => tester.snapshot(end))];
  media.stop();
  await Promise.all(testers.map(({ tester }) => tester.close()));
  return {
    worker: place.worker,
    total: testers.length,
    peers,
    latency: latency.state(),
    samples,
    skippedFrames: media.skippedFrames,
    topologies: [...new Set(testers.flatMap(({ tester }) => (tester.topology ? [tester.topology] : [])))],
  };
}
