import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { OpusDecoderStream, OpusEncoderStream } from '../../src/media/opus.js';
import { bytesToInt16, int16ToBytes } from '../../src/media/pcm.js';
import { ToneGenerator } from '../../src/media/tone.js';
import type { PcmCodec, PcmRate } from '../../src/protocol/pcm.js';
import { startTestServer } from '../helpers/server.js';
import { PcmProbe, metric, until } from './pcm-harness.js';

interface Side { codec: PcmCodec; rate: PcmRate }
const FRAMES = 50; // 1 s of audio in 20 ms frames
let server: RunningServer;
let seq = 0;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

/** 20 ms frames of a tone in the side's format (Opus encoded at 48 kHz). */
function toneFrames(side: Side, hz: number): Buffer[] {
  const rate = side.codec === 'opus' ? 48000 : side.rate;
  const tone = new ToneGenerator(hz, rate);
  const enc = side.codec === 'opus' ? new OpusEncoderStream(48000) : undefined;
  const frames: Buffer[] = [];
  for (let i = 0; i < FRAMES; i++) {
    const pcm = tone.next(rate / 50);
    frames.push(enc ? enc.encode(pcm) : Buffer.from(int16ToBytes(pcm)));
  }
  return frames;
}

/** What a side received, as samples at its own rate. */
function heard(probe: PcmProbe, side: Side): Int16Array {
  if (side.codec === 'pcm') return bytesToInt16(Buffer.concat(probe.audio));
  const dec = new OpusDecoderStream(side.rate);
  const parts = probe.audio.map((p) => dec.decode(p));
  const out = new Int16Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

async function pairOf(a: Side, b: Side): Promise<[PcmProbe, PcmProbe]> {
  const code = `tc-${++seq}`;
  const pa = await PcmProbe.open(server, { codec: a.codec, rate: String(a.rate), pair: code });
  const pb = await PcmProbe.open(server, { codec: b.codec, rate: String(b.rate), pair: code });
  await pa.waitFor('connected');
  await pb.waitFor('connected');
  return [pa, pb];
}

/** Sends a tone each way at once and checks each side hears the other's tone at its own rate. */
async function checkBothWays(a: Side, b: Side): Promise<{ aHeard: number; bHeard: number; packetsToB: number }> {
  const [pa, pb] = await pairOf(a, b);
  const toB = toneFrames(a, 440);
  const toA = toneFrames(b, 660);
  for (let i = 0; i < FRAMES; i++) {
    pa.sendAudio(toB[i]!);
    pb.sendAudio(toA[i]!);
  }
  const expectMs = (side: Side, p: PcmProbe) => (side.codec === 'opus' ? p.audio.length * 20 : p.audioBytes / 2 / (side.rate / 1000));
  // a resampler may hold back a few samples; an encoder needs whole 20 ms frames
  await until(() => expectMs(b, pb) >= 980 && expectMs(a, pa) >= 980, 'about 1 s of audio each way');
  const bSamples = heard(pb, b);
  const aSamples = heard(pa, a);
  // skip the first 100 ms (codec and filter warm-up)
  const result = {
    bHeard: dominantFrequency(bSamples.subarray(b.rate / 10), b.rate),
    aHeard: dominantFrequency(aSamples.subarray(a.rate / 10), a.rate),
    packetsToB: pb.audio.length,
  };
  pa.close();
  pb.close();
  return result;
}

describe('transcoding between partners', () => {
  it('pcm 48 kHz -> opus and opus -> pcm 48 kHz keep the tone within 1 Hz', async () => {
    const before = await metric(server, 'callpeer_pcm_relayed_frames_total', { path: 'transcode' });
    const r = await checkBothWays({ codec: 'pcm', rate: 48000 }, { codec: 'opus', rate: 48000 });
    expect(Math.abs(r.bHeard - 440)).toBeLessThanOrEqual(1);
    expect(Math.abs(r.aHeard - 660)).toBeLessThanOrEqual(1);
    // one Opus packet per 20 ms frame
    expect(r.packetsToB).toBe(FRAMES);
    expect(await metric(server, 'callpeer_pcm_relayed_frames_total', { path: 'transcode' })).toBe(before + 2 * FRAMES);
  });

  it('opus -> pcm 16 kHz (decoded straight to 16 kHz) and pcm 16 kHz -> opus keep the tone within 1 Hz', async () => {
    const r = await checkBothWays({ codec: 'opus', rate: 48000 }, { codec: 'pcm', rate: 16000 });
    expect(Math.abs(r.bHeard - 440)).toBeLessThanOrEqual(1);
    expect(Math.abs(r.aHeard - 660)).toBeLessThanOrEqual(1);
  });

  it('pcm 16 kHz -> pcm 48 kHz and back (resampled) keep the tone within 1 Hz', async () => {
    const r = await checkBothWays({ codec: 'pcm', rate: 16000 }, { codec: 'pcm', rate: 48000 });
    expect(Math.abs(r.bHeard - 440)).toBeLessThanOrEqual(1);
    expect(Math.abs(r.aHeard - 660)).toBeLessThanOrEqual(1);
  });

  it('opus 16 kHz and opus 48 kHz partners get each other\'s packets untouched', async () => {
    const [pa, pb] = await pairOf({ codec: 'opus', rate: 16000 }, { codec: 'opus', rate: 48000 });
    const frames = toneFrames({ codec: 'opus', rate: 48000 }, 440);
    for (const f of frames) pa.sendAudio(f);
    await until(() => pb.audio.length === FRAMES, 'every packet');
    expect(pb.audio).toEqual(frames);
    pa.close();
    pb.close();
  });

  it('answers a binary frame that is not Opus with INVALID_MESSAGE when it must be decoded, and keeps the socket', async () => {
    const [pa, pb] = await pairOf({ codec: 'opus', rate: 48000 }, { codec: 'pcm', rate: 48000 });
    pa.sendAudio(Buffer.from([0xfb, 0x00, 1, 2, 3, 4, 5, 6, 7, 8]));
    await pa.waitFor('error');
    expect(pa.last('error').code).toBe('INVALID_MESSAGE');
    pa.sendAudio(toneFrames({ codec: 'opus', rate: 48000 }, 440)[0]!);
    await until(() => pb.audio.length === 1, 'the good packet after the bad one');
    expect(pa.isOpen).toBe(true);
    pa.close();
    pb.close();
  });
});
