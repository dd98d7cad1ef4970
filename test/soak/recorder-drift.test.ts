/**
 * A long recording of three senders whose clocks disagree with the recorder's: one fast, one
 * slow, one true, each talking in spurts with DTX pauses between (nothing sent). Every spurt
 * starts with a 1 kHz marker at the same wall-clock instant for all three. The recording keeps
 * wall-clock time: each file's markers sit within 20 ms of where the wall clock puts them,
 * the three files' markers within 20 ms of each other, and each file ends within 20 ms of the
 * recording's end.
 *
 * `npm run soak` (SOAK_LONG=1): 10 minutes at +-100 ppm. `npm test`: 30 s at +-2,000 ppm, the
 * same 60 ms of drift by the end (CI stays under 15 minutes).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Recorder } from '../../src/bots/recorder/recorder.js';
import { SfuAgent } from '../../src/client/sfu-agent.js';
import { rms } from '../../src/media/analysis.js';
import { OpusEncoderStream } from '../../src/media/opus.js';
import type { OpusSource } from '../../src/media/opus-sources.js';
import { ToneGenerator } from '../../src/media/tone.js';
import { OpusSender } from '../../src/rtc/opus-sender.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { decodeRecording } from '../integration/recorder-helpers.js';
import { skewedClock } from '../helpers/clock.js';
import { startTestServer } from '../helpers/server.js';

const LONG = process.env.SOAK_LONG === '1';
const DURATION_S = LONG ? 600 : 30;
const SKEW = LONG ? 100e-6 : 2000e-6;
/** A spurt every 5 s: marker (200 ms, 1 kHz), talk until 3 s, then a 2 s DTX pause. */
const PERIOD_MS = 5000;
const MARKER_MS = 200;
const TALK_MS = 3000;
const TOLERANCE_MS = 20;

afterAll(() => cleanupRtc());

/**
 * Frame `index` of a sender whose frames are 20 ms of its own clock: marker, talk or nothing
 * by the real time that frame is sent, from `epoch` (Unix ms) on. One encoder runs through
 * the pauses, as a DTX encoder does.
 */
class SpurtSource implements OpusSource {
  private readonly encoder = new OpusEncoderStream(48000);
  private readonly marker = new ToneGenerator(1000, 48000, 0.6);
  private readonly talk: ToneGenerator;
  private startedAt: number | undefined;
  ended = false;

  constructor(hz: number, private readonly epoch: number, private readonly skew: number) {
    this.talk = new ToneGenerator(hz, 48000, 0.3);
  }

  nextFrame(index: number): Buffer | undefined {
    this.startedAt ??= Date.now() - index * 20 / (1 + this.skew);
    // Each sample by the real time it stands for: a marker starts on its instant, not on a frame edge.
    const msPerSample = 1 / 48 / (1 + this.skew);
    const first = this.startedAt + (index * 20) / (1 + this.skew) - this.epoch;
    const phase = (ms: number) => (ms < 0 ? PERIOD_MS : ms % PERIOD_MS);
    if (phase(first) >= TALK_MS && phase(first + 959 * msPerSample) >= TALK_MS) return this.silence();
    const marker = this.marker.next(960);
    const talk = this.talk.next(960);
    const pcm = new Int16Array(960);
    for (let j = 0; j < 960; j++) {
      const at = phase(first + j * msPerSample);
      pcm[j] = at < MARKER_MS ? marker[j]! : at < TALK_MS ? talk[j]! : 0;
    }
    return this.encoder.encode(pcm);
  }

  private silence(): undefined {
    this.encoder.encode(new Int16Array(960));
    return undefined;
  }
}

/** Marker onsets in a decoded file, ms from its start: the first 2.5 ms block of each burst (louder than any talk). */
function markerOnsets(pcm: Int16Array): number[] {
  const block = 120;
  const onsets: number[] = [];
  let lastLoud = -Infinity;
  for (let i = 0; i + block <= pcm.length; i += block) {
    if (rms(pcm.subarray(i, i + block)) < 0.33) continue;
    const ms = i / 48;
    if (ms - lastLoud > 1000) onsets.push(ms);
    lastLoud = ms;
  }
  return onsets;
}

describe('a long recording of senders with drifting clocks', () => {
  it(`${DURATION_S} s, clocks +${SKEW * 1e6} / -${SKEW * 1e6} / 0 ppm, DTX pauses: files keep wall-clock time within ${TOLERANCE_MS} ms`, async () => {
    const server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'callpeer-drift-'));
    const recorder = new Recorder({ wsUrl: server.wsUrl, room: 'drift', name: 'rec', outDir: dir, peer: { bindAddress: '127.0.0.1' } });
    await recorder.start();
    const epoch = Date.now() + 2000; // the first marker, for everyone
    const senders: { agent: SfuAgent; sender?: OpusSender }[] = [];
    for (const [name, hz, skew] of [['fast', 300, SKEW], ['slow', 400, -SKEW], ['true', 500, 0]] as const) {
      const agent = new SfuAgent({ wsUrl: server.wsUrl, room: 'drift', name, audio: true, video: false, peer: { bindAddress: '127.0.0.1' } });
      const entry: { agent: SfuAgent; sender?: OpusSender } = { agent };
      const device = skewedClock(skew);
      agent.on('negotiated', (peer) => {
        const track = peer.tracks().find((t) => t.direction === 'sendonly' && t.kind === 'audio');
        if (!track || entry.sender) return;
        entry.sender = new OpusSender(track, { clock: device.clock, wallClock: device.wall });
        entry.sender.play(new SpurtSource(hz, epoch, skew));
      });
      await agent.start();
      senders.push(entry);
    }
    const endAt = epoch + DURATION_S * 1000 + 500;
    await new Promise((r) => setTimeout(r, endAt - Date.now()));
    for (const s of senders) s.sender?.close();
    const manifest = await recorder.stop();
    const stoppedAt = Date.now();
    await Promise.all(senders.map((s) => s.agent.close()));
    await server.close();

    const sessionStart = Date.parse(manifest.startedAt);
    const expected = Array.from({ length: Math.floor(DURATION_S * 1000 / PERIOD_MS) }, (_, k) => epoch + k * PERIOD_MS - sessionStart);
    const errors: Record<string, number[]> = {};
    const ends: Record<string, number> = {};
    for (const f of manifest.files.filter((x) => x.kind === 'audio')) {
      const { pcm } = decodeRecording(path.join(dir, f.file));
      // The file's timeline is the session's: granules count from the session start.
      const onsets = markerOnsets(pcm);
      errors[f.name] = expected.map((e) => {
        const found = onsets.reduce((best, o) => (Math.abs(o - e) < Math.abs(best - e) ? o : best), onsets[0] ?? NaN);
        return found - e;
      });
      ends[f.name] = f.durationMs - manifest.durationMs;
    }
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
    for (const [name, e] of Object.entries(errors)) console.log(`${name}: marker offsets from the wall clock, ms: ${fmt(e)}`);
    console.log(`recording ${manifest.durationMs} ms, stopped ${stoppedAt - sessionStart} ms after its start; file ends from the recording's, ms: ${JSON.stringify(ends)}`);
    // Each file runs to the end of the recording.
    for (const [name, e] of Object.entries(ends)) expect(Math.abs(e), `${name} ends with the recording`).toBeLessThanOrEqual(TOLERANCE_MS);
    expect(Object.keys(errors).sort()).toEqual(['fast', 'slow', 'true']);
    // The path (network, jitter anchor, Opus delay, the onset detector) puts every marker a
    // little late, the same for all: the true-clock sender's offset is that. What counts is
    // that no file drifts from it and that the three agree.
    const all = Object.values(errors).flat();
    expect(all.every((x) => Number.isFinite(x)), 'every marker found in every file').toBe(true);
    const reference = errors.true!;
    const latency = [...reference].sort((a, b) => a - b)[Math.floor(reference.length / 2)]!;
    expect(Math.max(...reference) - Math.min(...reference), 'the true clock holds still').toBeLessThanOrEqual(5);
    expect(latency).toBeLessThan(60);
    for (const [name, e] of Object.entries(errors)) {
      for (const x of e) expect(Math.abs(x - latency), `${name}: a marker off the wall clock by ${(x - latency).toFixed(1)} ms`).toBeLessThanOrEqual(TOLERANCE_MS);
    }
    for (let k = 0; k < expected.length; k++) {
      const at = Object.values(errors).map((e) => e[k]!);
      expect(Math.max(...at) - Math.min(...at), `marker ${k}: the files disagree`).toBeLessThanOrEqual(TOLERANCE_MS);
    }
  }, (DURATION_S + 60) * 1000);
});
