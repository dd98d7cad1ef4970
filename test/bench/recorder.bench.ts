/**
 * Recorder CPU per recorded packet against bare receiving, same run, same connections.
 * `TRACKS` senders in a child process (support/recorder-sender.ts) each send a real 20 ms Opus
 * packet every 20 ms to one Peer of this process; this process's CPU (process.cpuUsage: all
 * its threads, SRTP and sockets included) is measured in alternating phases:
 *   bare:   Peer track -> RtpReceiver (header parse, RFC 3550 stats, RRs)
 *   record: Peer track -> TrackRecorder (RtpReceiver -> TrackTimeline -> TrackWriter: Ogg
 *           pages to a file in tmpdir, flushed every 500 ms, plus the 250 ms tick)
 * Target: record/bare <= 1.2x. Also: tracks one recorder process can record on one core,
 * extrapolated from the recording CPU per packet (50 packets/s per track).
 *   unshare -n sh -c 'ip link set lo up && exec node --import tsx test/bench/recorder.bench.ts [tracks=40] [seconds per phase=4]'
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TrackRecorder } from '../../src/bots/recorder/track-recorder.js';
import { TrackTimeline } from '../../src/bots/recorder/track-timeline.js';
import { TrackWriter } from '../../src/bots/recorder/track-writer.js';
import { OpusEncoderStream } from '../../src/media/opus.js';
import { ToneGenerator } from '../../src/media/tone.js';
import type { MediaTrack } from '../../src/rtc/media-track.js';
import { cleanupRtc, Peer } from '../../src/rtc/peer.js';
import { RtpReceiver } from '../../src/rtc/rtp-receiver.js';

const TRACKS = Number(process.argv[2] ?? 40);
const SECONDS = Number(process.argv[3] ?? 4);
/** Alternating phases; the machine's other load comes and goes, so the median of paired ratios is reported. */
const ROUNDS = 4;

type ChildMsg = { t: string; i: number; sdp?: string; candidate?: string; mid?: string };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A realistic packet: a 32 kbps frame of a tone, as browsers send for voice. */
function opusFrame(): string {
  const enc = new OpusEncoderStream(48000);
  const tone = new ToneGenerator(440, 48000);
  let frame: Buffer = Buffer.alloc(0);
  for (let i = 0; i < 10; i++) frame = enc.encode(tone.next(960));
  return frame.toString('hex');
}

async function connect(): Promise<{ child: ChildProcess; tracks: MediaTrack[]; peers: Peer[] }> {
  const child = fork(path.join(import.meta.dirname, 'support', 'recorder-sender.ts'), [String(TRACKS), opusFrame()], {
    execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const peers: Peer[] = [];
  const tracks: MediaTrack[] = [];
  let open = 0;
  child.on('message', (m: ChildMsg) => {
    if (m.t === 'offer') {
      const peer = new Peer({ id: `r${m.i}`, iceServers: [], bindAddress: '127.0.0.1', capabilities: { sendAudio: false } });
      peers[m.i] = peer;
      peer.on('track', (t) => { tracks[m.i] = t; });
      peer.on('signal', (s) => child.send(s.kind === 'description' ? { t: 'answer', i: m.i, sdp: s.sdp } : { t: 'candidate', i: m.i, candidate: s.candidate, mid: s.mid }));
      peer.handleRemoteDescription(m.sdp!, 'offer');
    } else if (m.t === 'candidate') {
      peers[m.i]?.addRemoteCandidate(m.candidate!, m.mid);
    } else if (m.t === 'open') {
      open++;
    }
  });
  for (const end = Date.now() + 30_000; open < TRACKS; await sleep(50)) {
    if (Date.now() > end) throw new Error(`only ${open}/${TRACKS} tracks opened`);
  }
  return { child, tracks, peers };
}

interface Phase { mode: 'bare' | 'record'; packets: number; cpuUs: number; elu: number }

async function phase(mode: Phase['mode'], tracks: MediaTrack[], dir: string, round: number): Promise<Phase> {
  let packets = 0;
  const startMs = performance.now();
  const close: (() => void)[] = [];
  if (mode === 'bare') {
    for (const t of tracks) {
      const rx = new RtpReceiver(t, { onPacket: () => { packets++; } });
      close.push(() => rx.close());
    }
  } else {
    const recs = tracks.map((t, i) => new TrackRecorder(t, {
      startMs,
      open: () => new TrackWriter(path.join(dir, `${round}-${i}.opus`)),
      onError: (err) => { throw err; },
    }));
    // Count at the track, like the bare phase counts at onPacket.
    for (const t of tracks) {
      const inner = t.onRtp!;
      t.onRtp = (p) => { packets++; inner(p); };
    }
    let ticks = 0;
    const timer = setInterval(() => { const now = performance.now(); ticks++; for (const r of recs) r.tick(now, ticks % 2 === 0); }, 250);
    close.push(() => { clearInterval(timer); for (const r of recs) r.finish(performance.now()); });
  }
  await sleep(1000); // settle
  packets = 0;
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  await sleep(SECONDS * 1000);
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0).utilization;
  const counted = packets;
  for (const c of close) c();
  return { mode, packets: counted, cpuUs: cpu.user + cpu.system, elu };
}

const f = (n: number, d = 2) => n.toFixed(d);

/** The recording path alone, no network: TrackTimeline + TrackWriter on ready packets, µs CPU per packet. */
function pathAlone(dir: string): number {
  const payload = Buffer.from(opusFrame(), 'hex');
  const n = 200_000;
  const writer = new TrackWriter(path.join(dir, 'alone.opus'));
  const timeline = new TrackTimeline((frame) => writer.write(frame), { startMs: 0, startupWindowMs: 0 });
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    timeline.push({ ssrc: 1, sequenceNumber: i & 0xffff, timestamp: (i * 960) >>> 0, payload: Buffer.from(payload), arrivalMs: i * 20 });
    if (i % 25 === 0) writer.flush();
  }
  const cpu = process.cpuUsage(cpu0);
  writer.close();
  return (cpu.user + cpu.system) / n;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-rec-bench-'));
  const { child, tracks, peers } = await connect();
  console.log(`recorder bench: ${TRACKS} tracks x 50 packets/s, ${SECONDS} s per phase, ${ROUNDS} rounds of bare then record`);
  const results: Phase[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of ['bare', 'record'] as const) {
      const r = await phase(mode, tracks, dir, round);
      results.push(r);
      console.log(`  ${mode.padEnd(6)} ${r.packets} packets  ${f(r.cpuUs / r.packets)} µs CPU/packet  event loop ${f(r.elu * 100, 1)} % busy`);
    }
  }
  const per = (mode: Phase['mode']) => {
    const rs = results.filter((r) => r.mode === mode);
    return rs.reduce((n, r) => n + r.cpuUs, 0) / rs.reduce((n, r) => n + r.packets, 0);
  };
  const bare = per('bare');
  const record = per('record');
  const ratios = Array.from({ length: ROUNDS }, (_, i) => {
    const [b, r] = [results[2 * i]!, results[2 * i + 1]!];
    return (r.cpuUs / r.packets) / (b.cpuUs / b.packets);
  }).sort((a, b) => a - b);
  const median = (ratios[(ROUNDS - 1) >> 1]! + ratios[ROUNDS >> 1]!) / 2;
  console.log(`bare receiving: ${f(bare)} µs/packet; recording: ${f(record)} µs/packet; ratio ${f(record / bare)}x overall, median of rounds ${f(median)}x [${ratios.map((x) => f(x)).join(' ')}] (target <= 1.2x)`);
  console.log(`the recording path alone (timeline + Ogg pages + writes, no network): ${f(pathAlone(dir))} µs/packet`);
  console.log(`one core records about ${Math.floor(1e6 / (record * 50))} tracks (extrapolated: 1 s of CPU / (${f(record)} µs x 50 packets/s))`);
  child.send({ t: 'exit' });
  for (const p of peers) p.close();
  cleanupRtc();
  rmSync(dir, { recursive: true, force: true });
}

await main();
