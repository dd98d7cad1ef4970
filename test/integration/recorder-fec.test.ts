/**
 * The recorder with 5 % injected loss (issue 15, "quality"): a bot's audio crosses a userspace
 * UDP relay that drops 5 % of its RTP on the way to the recorder (mesh room: the bot's one
 * WebRTC link is to the recorder). Two rooms at once, the same seed: one bot encodes with
 * in-band FEC (the default; it turns on once the recorder's receiver reports show loss), the
 * other with FEC off. The recorder writes a lost-packet marker where each lost packet was,
 * and its mix rebuilds the frame from the next packet's FEC, or conceals it (PLC).
 *
 * A gap is a lost frame the decoded recording does not give back: its 20 ms in the mix are
 * compared with what a decoder that got every packet the bot sent plays there, and under
 * 10 dB of signal to error it is a gap (silence is 0 dB). The tone glides (500-900 Hz over
 * 2 s), so PLC, which continues the last pitch period, misses where FEC has the frame itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bot } from '../../src/bots/bot.js';
import { mixOggOpusFiles } from '../../src/bots/recorder/mixer.js';
import { Recorder } from '../../src/bots/recorder/recorder.js';
import type { PcmFrameSource } from '../../src/media/frames.js';
import { readOggOpus } from '../../src/media/ogg-opus.js';
import { isOpusLossMarker, opusPacketSamples48k } from '../../src/media/opus-packet.js';
import { EncodedSource, type OpusSource } from '../../src/media/opus-sources.js';
import { OpusDecoderStream } from '../../src/media/opus.js';
import { parseWav } from '../../src/media/wav.js';
import { LossyRelay } from '../helpers/lossy-relay.js';
import { useTestServer } from '../helpers/server.js';
import { silentBlocks } from '../helpers/tone-checks.js';
import { has } from '../helpers/tools.js';

const PEER = { bindAddress: '127.0.0.1' };
const ctx = useTestServer({}, { rtc: true });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Tone seconds played; the first are not judged (the first receiver reports come after ~1 s). */
const SECONDS = 9;
const JUDGED_FROM_FRAME = 150;
/** Under this signal-to-error ratio over its 20 ms, a lost frame is a gap, dB. */
const GAP_DB = 10;

/** A tone gliding 500 → 900 Hz and back every 2 s, amplitude 0.4, for `seconds`. */
class GlideFrames implements PcmFrameSource {
  private phase = 0;
  private n = 0;
  private readonly frame = new Int16Array(960);
  constructor(private readonly frames: number) {}
  get ended(): boolean {
    return this.n >= this.frames;
  }
  nextFrame(): Int16Array | undefined {
    if (this.ended) return undefined;
    for (let i = 0; i < 960; i++) {
      const t = (this.n * 960 + i) / 48000;
      this.phase += (2 * Math.PI * (700 + 200 * Math.sin(Math.PI * t))) / 48000;
      this.frame[i] = Math.round(13000 * Math.sin(this.phase));
    }
    this.n++;
    return this.frame;
  }
}

/** An encoded glide that keeps every packet it gave (what the bot sent, in order) and the loss reports it heard. */
class KeptSource implements OpusSource {
  readonly sent: Buffer[] = [];
  readonly reports: number[] = [];
  private readonly inner: EncodedSource;
  constructor(fec: boolean) {
    this.inner = new EncodedSource(new GlideFrames(SECONDS * 50), { fec });
  }
  get ended(): boolean {
    return this.inner.ended === true;
  }
  nextFrame(): Buffer | undefined {
    const p = this.inner.nextFrame();
    if (p) this.sent.push(p);
    return p;
  }
  reportLoss(fractionLost: number): void {
    this.reports.push(fractionLost);
    this.inner.reportLoss(fractionLost);
  }
}

/** Judged lost frames, those that are gaps, 20 ms blocks of silence in the judged span, share of SILK/hybrid packets sent. */
interface Run { lost: number; gaps: number; silent: number; silk: number; dropped: number; skippedMs: number; reports: string }

/** One room: the bot through the relay, the recorder, then the judged lost frames of the mix. */
async function run(room: string, fec: boolean): Promise<Run> {
  const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-recfec-'));
  const relay = await LossyRelay.start(ctx.server.wsUrl, { loss: 0.05, delay: 0, seed: 7 });
  const rec = new Recorder({ wsUrl: ctx.server.wsUrl, room, outDir: dir, peer: PEER });
  const source = new KeptSource(fec);
  let bot: Bot | undefined;
  try {
    await rec.start();
    bot = new Bot({ wsUrl: relay.wsUrl, room, name: fec ? 'fec' : 'plain', source, peer: PEER });
    const ended = new Promise<void>((r) => bot!.once('ended', () => r()));
    await bot.start();
    await ended;
    await sleep(300);
    const manifest = await rec.stop();
    const file = path.join(dir, manifest.files[0]!.file);
    // Players take the markers: opusinfo checks the stream, ffmpeg decodes it.
    if (has('opusinfo')) expect(spawnSync('opusinfo', [file]).status).toBe(0);
    if (has('ffmpeg')) expect(spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']).status).toBe(0);
    const mixFile = path.join(dir, 'mix.wav');
    mixOggOpusFiles([file], mixFile);
    return { ...judge(file, parseWav(readFileSync(mixFile)).samples, source.sent), dropped: relay.stats.dropped, skippedMs: relay.stats.senderSkippedMs, reports: source.reports.map((f) => (f * 100).toFixed(1)).join(' ') };
  } finally {
    await bot?.close();
    await rec.stop().catch(() => undefined);
    await relay.close();
  }
}

/** Finds each lost packet (its marker in the file) among those sent, and measures its 20 ms in the mix. */
function judge(file: string, mix: Int16Array, sent: Buffer[]): Omit<Run, 'dropped' | 'skippedMs' | 'reports'> {
  const truth = new OpusDecoderStream(48000);
  const expected = sent.map((p) => truth.decode(p));
  const index = new Map(sent.map((p, i) => [p.toString('hex'), i]));
  const { packets, head } = readOggOpus(readFileSync(file));
  let lost = 0;
  let gaps = 0;
  let from: number | undefined;
  let to = 0;
  for (const p of packets) {
    const k = index.get(Buffer.from(p.data).toString('hex'));
    if (k === undefined) continue;
    if (k >= JUDGED_FROM_FRAME) from ??= p.granule - head.preSkip;
    to = p.granule - head.preSkip;
  }
  for (let i = 0; i < packets.length; i++) {
    if (!isOpusLossMarker(packets[i]!.data)) continue;
    // The markers of a run sit right before the next packet received: frame k - (markers to it).
    let j = i;
    while (j < packets.length && isOpusLossMarker(packets[j]!.data)) j++;
    const next = packets[j];
    const k = next && index.get(Buffer.from(next.data).toString('hex'));
    if (k === undefined || next!.granule - opusPacketSamples48k(next!.data) !== packets[j - 1]!.granule) continue;
    const frame = k - (j - i);
    if (frame < JUDGED_FROM_FRAME) continue;
    const end = packets[i]!.granule - head.preSkip;
    const got = mix.subarray(end - 960, end);
    let signal = 0;
    let err = 0;
    for (let n = 0; n < 960; n++) { signal += expected[frame]![n]! ** 2; err += (got[n]! - expected[frame]![n]!) ** 2; }
    lost++;
    if (10 * Math.log10(signal / Math.max(1, err)) < GAP_DB) gaps++;
  }
  const silk = sent.slice(JUDGED_FROM_FRAME).filter((p) => p[0]! >> 3 < 16).length / (sent.length - JUDGED_FROM_FRAME);
  return { lost, gaps, silent: silentBlocks(mix.subarray(from ?? to, to), 48000).length, silk };
}

describe('recorder with 5 % injected loss', () => {
  it('with FEC on, the decoded recording has fewer gaps where packets were lost than with FEC off', async () => {
    const [on, off] = await Promise.all([run('fec-on', true), run('fec-off', false)]);
    console.log(`FEC on: ${JSON.stringify(on)}\nFEC off: ${JSON.stringify(off)}`);
    // The relay dropped packets in both, and the recorder marked them.
    expect(on.lost).toBeGreaterThanOrEqual(5);
    expect(off.lost).toBeGreaterThanOrEqual(5);
    // The bot with FEC on heard of the loss and coded SILK with LBRR; the other stayed CELT.
    expect(on.silk).toBeGreaterThan(0.9);
    expect(off.silk).toBe(0);
    // Most lost frames come back with FEC; without, concealment misses a gliding tone.
    expect(on.gaps / on.lost).toBeLessThan(0.5);
    expect(off.gaps / off.lost).toBeGreaterThan(0.5);
    expect(on.gaps / on.lost).toBeLessThan(off.gaps / off.lost - 0.3);
    // Neither leaves 20 ms of silence where a packet was lost (unless the bot itself skipped frames).
    for (const r of [on, off]) expect(r.silent).toBeLessThanOrEqual(Math.floor(r.skippedMs / 20));
  });
});
