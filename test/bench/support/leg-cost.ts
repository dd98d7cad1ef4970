/**
 * Where one Twilio leg's 20 ms goes inside the server, without sockets (pcm-gateway.bench.ts):
 * the shipped code of each stage, timed in this process over the same frames, so the stages
 * compare with each other whatever the machine is doing. A listener (its line's noise in, the
 * room's mix out) against a talker (a tone in, the mix less its own voice out):
 *
 * - in: a `media` message read (TwilioStream.read: JSON, strict base64, µ-law decode) and
 *   pushed into the leg (PcmRoomLeg.push: the voice gate; for a talker 8 → 48 kHz, cut into
 *   20 ms frames), and the frame taken;
 * - say: what SfuGateway does with it: a talker's frame encoded to Opus; a listener publishes
 *   Opus silence (no encoding; the RTP packet around it, timed here as the Buffer it builds);
 * - mix: a talker's share of the sum (its frame added, its own voice subtracted from its copy,
 *   clamped) as SfuGateway.tick writes it; a listener hears the shared frame (nothing per leg);
 * - out: the mix played to the leg (PcmRoomLeg.play; its Egress; TwilioStream.send: µ-law,
 *   base64, the JSON message) down to a socket that takes it at once. A talker's own mix is
 *   resampled and encoded for it alone; LISTENERS listeners share one frame, converted once
 *   per tick for all (SharedFrame, and the streams' payload cache), timed over all of them.
 */
import type { WebSocket } from 'ws';
import { ToneFrames } from '../../../src/media/frames.js';
import { mulawEncode } from '../../../src/media/g711.js';
import { OpusEncoderStream } from '../../../src/media/opus.js';
import { SILENCE_FRAMES } from '../../../src/media/opus-packet.js';
import { clampInt16 } from '../../../src/media/pcm.js';
import { twilioInboundMedia, twilioStart } from '../../../src/protocol/twilio.js';
import { Egress } from '../../../src/pcm/egress.js';
import { PcmRoomLeg } from '../../../src/pcm/room-leg.js';
import { TwilioStream, type TwilioPayloads } from '../../../src/pcm/twilio-stream.js';
import { LEG_FRAME_SAMPLES, SharedFrame } from '../../../src/rooms/audio-leg.js';
import { LINE_NOISE } from './twilio-legs.js';

export interface StageCost { in: number; say: number; mix: number; out: number }
export interface LegCost { listener: StageCost; talker: StageCost }

/** Listeners sharing the mix in the `out` stage. */
const LISTENERS = 100;

/** A socket that takes every write at once. */
const instant = { bufferedAmount: 0, send: (_d: unknown, cb?: () => void) => cb?.() } as unknown as WebSocket;

function startedStream(payloads: TwilioPayloads, sid: string): TwilioStream {
  const stream = new TwilioStream(instant, 'bench', payloads);
  stream.read(twilioStart(1, { accountSid: 'AC0', streamSid: sid, callSid: 'CA0', customParameters: {} }));
  return stream;
}

/** µs per 20 ms frame of each stage, for a listener and for a talker; best of `rounds`. */
export function measureLegCost(frames = 2000, rounds = 5): LegCost {
  const payloads: TwilioPayloads = new WeakMap();
  const newLeg = (i: number) => new PcmRoomLeg({ codec: 'pcm', rate: 8000 }, new Egress(startedStream(payloads, `MZbench${i}`)));
  const listener = newLeg(0);
  const talker = newLeg(1);
  const listeners = Array.from({ length: LISTENERS }, (_, i) => newLeg(i + 2));
  const inStream = startedStream(payloads, 'MZin');
  const encoder = new OpusEncoderStream(48000);
  const noise = LINE_NOISE.map((f, i) => twilioInboundMedia(i + 2, 'MZin', i + 1, 20 * i, f));
  const speech = new ToneFrames(450, 8000, { amplitude: 0.2 });
  const spoken = Array.from({ length: 50 }, (_, i) => twilioInboundMedia(i + 2, 'MZin', i + 1, 20 * i, mulawEncode(speech.nextFrame()!)));
  // The room's mix: four tones, 48 kHz frames.
  const tones = [400, 500, 600, 700].map((hz) => new ToneFrames(hz, 48000, { amplitude: 0.2 }));
  const mixes = Array.from({ length: 50 }, () => {
    const f = new Int16Array(LEG_FRAME_SAMPLES);
    for (const t of tones) { const x = t.nextFrame()!; for (let i = 0; i < f.length; i++) f[i]! += x[i]!; }
    return f;
  });
  const sum = new Int32Array(LEG_FRAME_SAMPLES);
  const out = new Int16Array(LEG_FRAME_SAMPLES);
  const header = Buffer.alloc(12);
  const shared = new SharedFrame();
  let said: Int16Array = new Int16Array(LEG_FRAME_SAMPLES);
  let sink: unknown;
  const read = (leg: PcmRoomLeg, message: string) => {
    const a = inStream.read(message);
    if (a.kind === 'audio') leg.push(a.pcm);
    return leg.take();
  };

  const stages: Record<string, (i: number) => void> = {
    'listener.in': (i) => { read(listener, noise[i % 50]!); },
    'listener.say': () => { sink = Buffer.concat([header, SILENCE_FRAMES[0]![1]]); },
    'listener.mix': () => {},
    'listener.out': (i) => {
      shared.tick++;
      for (const leg of listeners) leg.play(mixes[i % 50]!, shared);
    },
    'talker.in': (i) => { said = read(talker, spoken[i % 50]!) ?? said; },
    'talker.say': () => { sink = encoder.encode(said); },
    'talker.mix': () => {
      for (let k = 0; k < sum.length; k++) sum[k]! += said[k]!;
      for (let k = 0; k < out.length; k++) out[k] = clampInt16(sum[k]! - said[k]!);
      sum.fill(0);
    },
    'talker.out': (i) => { talker.play(mixes[i % 50]!); },
  };
  // Rounds go through every stage in turn and each stage keeps its best round: the one least
  // disturbed by the rest of the machine, which slows stages alike whichever runs when.
  const entries = Object.entries(stages);
  for (const [, run] of entries) for (let i = 0; i < frames; i++) run(i); // warm up
  const best = new Map<string, number>();
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of entries) {
      const t0 = performance.now();
      for (let i = 0; i < frames; i++) run(i);
      const us = ((performance.now() - t0) * 1000) / frames / (name === 'listener.out' ? LISTENERS : 1);
      best.set(name, Math.min(best.get(name) ?? Infinity, us));
    }
  }
  for (const leg of [listener, talker, ...listeners]) leg.close();
  shared.close();
  encoder.release();
  void sink;
  const of = (who: string): StageCost => ({ in: best.get(`${who}.in`)!, say: best.get(`${who}.say`)!, mix: best.get(`${who}.mix`)!, out: best.get(`${who}.out`)! });
  return { listener: of('listener'), talker: of('talker') };
}
