/**
 * Where one Twilio leg's 20 ms goes inside the server, without sockets (pcm-gateway.bench.ts):
 * the shipped code of each stage, timed in this process over the same frames, so the stages
 * compare with each other whatever the machine is doing.
 *
 * - in: a `media` message read (TwilioStream.read: JSON, strict base64, µ-law decode) and
 *   pushed into the leg (PcmRoomLeg.push: 8 → 48 kHz, cut into 20 ms frames);
 * - say: the leg's frame encoded to Opus (what SfuGateway does for every leg, every tick);
 * - hear: that Opus packet decoded again (every leg's microphone is a publication, and the
 *   gateway decodes each publication of the room once per tick);
 * - mix: the leg's share of the mix (the frame added to the room's sum, its own voice
 *   subtracted from its copy, clamped), written as SfuGateway.tick writes it;
 * - out: the mix played to the leg (PcmRoomLeg.play: 48 → 8 kHz; its Egress;
 *   TwilioStream.send: µ-law, base64, the JSON message) down to a socket that takes it at once.
 */
import type { WebSocket } from 'ws';
import { ToneFrames } from '../../../src/media/frames.js';
import { OpusDecoderStream, OpusEncoderStream } from '../../../src/media/opus.js';
import { clampInt16 } from '../../../src/media/pcm.js';
import { twilioInboundMedia } from '../../../src/protocol/twilio.js';
import { Egress } from '../../../src/pcm/egress.js';
import { PcmRoomLeg } from '../../../src/pcm/room-leg.js';
import { TwilioStream } from '../../../src/pcm/twilio-stream.js';
import { LEG_FRAME_SAMPLES } from '../../../src/rooms/audio-leg.js';
import { MULAW_SILENCE } from './twilio-legs.js';

export interface LegCost { in: number; say: number; hear: number; mix: number; out: number }

/** A socket that takes every write at once. */
const instant = { bufferedAmount: 0, send: (_d: unknown, cb?: () => void) => cb?.() } as unknown as WebSocket;

/** µs per 20 ms frame of each stage, for a listener leg (silence in, a mix of 4 tones out); best of `rounds`. */
export function measureLegCost(frames = 2000, rounds = 5): LegCost {
  const stream = new TwilioStream(instant, 'bench');
  stream.read(JSON.stringify({
    event: 'start', sequenceNumber: '1', streamSid: 'MZbench',
    start: { accountSid: 'AC0', streamSid: 'MZbench', callSid: 'CA0', tracks: ['inbound'], customParameters: {}, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
  }));
  const leg = new PcmRoomLeg({ codec: 'pcm', rate: 8000 }, new Egress(stream));
  const encoder = new OpusEncoderStream(48000);
  const decoder = new OpusDecoderStream(48000);
  const messages = Array.from({ length: 50 }, (_, i) => twilioInboundMedia(i + 2, 'MZbench', i + 1, 20 * i, MULAW_SILENCE));
  // The room's mix: four tones, 48 kHz frames.
  const tones = [400, 500, 600, 700].map((hz) => new ToneFrames(hz, 48000, { amplitude: 0.2 }));
  const mixes = Array.from({ length: 50 }, () => {
    const f = new Int16Array(LEG_FRAME_SAMPLES);
    for (const t of tones) { const x = t.nextFrame()!; for (let i = 0; i < f.length; i++) f[i]! += x[i]!; }
    return f;
  });
  const sum = new Int32Array(LEG_FRAME_SAMPLES);
  const out = new Int16Array(LEG_FRAME_SAMPLES);
  const silence = new Int16Array(LEG_FRAME_SAMPLES);
  let packet = encoder.encode(silence);

  const stages: Record<keyof LegCost, (i: number) => void> = {
    in: (i) => {
      const a = stream.read(messages[i % 50]!);
      if (a.kind === 'audio') leg.push(a.pcm);
      leg.take();
    },
    say: () => { packet = encoder.encode(silence); },
    hear: () => { decoder.decode(packet); },
    mix: (i) => {
      const own = silence;
      const frame = mixes[i % 50]!;
      for (let k = 0; k < sum.length; k++) sum[k]! += own[k]!;
      for (let k = 0; k < out.length; k++) out[k] = clampInt16(frame[k]! - own[k]!);
    },
    out: (i) => { leg.play(mixes[i % 50]!); },
  };
  // Rounds go through every stage in turn and each stage keeps its best round: the one least
  // disturbed by the rest of the machine, which slows stages alike whichever runs when.
  const entries = Object.entries(stages) as [keyof LegCost, (i: number) => void][];
  for (const [, run] of entries) for (let i = 0; i < frames; i++) run(i); // warm up
  const result = { in: Infinity, say: Infinity, hear: Infinity, mix: Infinity, out: Infinity };
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of entries) {
      const t0 = performance.now();
      for (let i = 0; i < frames; i++) run(i);
      result[name] = Math.min(result[name], ((performance.now() - t0) * 1000) / frames);
    }
  }
  leg.close();
  encoder.release();
  decoder.release();
  return result;
}
