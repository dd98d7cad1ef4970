/**
 * Mouth-to-ear latency through the PCM gateway (pcm-gateway.bench.ts), both ways, with no
 * browser: a WebRTC member (node-datachannel, SfuAgent) and a Twilio caller in one SFU room,
 * in this process, so both ends read the same clock.
 *
 * - Each side sends silence continuously (the member: Opus-encoded zeros, as a browser's
 *   microphone sends; the caller: a quiet line's noise, which the gateway's voice gate keeps
 *   out, so each burst must open it on its first frame) and a 100 ms tone burst every
 *   500 ms, the two sides a quarter of a period apart. "Mouth" is when the burst's first frame
 *   leaves the sender (the member's first tone packet, the caller's first tone `media` chunk).
 * - "Ear" is when the receiver would play the burst's first loud sample (|x| ≥ ONSET, after at
 *   least 200 ms below it): the arrival of the packet or chunk holding it, plus the sample's
 *   offset in it (a receiver plays a chunk from its first sample on arrival; no jitter buffer
 *   of its own is counted).
 */
import { SfuAgent } from '../../../src/client/sfu-agent.js';
import { ToneFrames, type PcmFrameSource } from '../../../src/media/frames.js';
import { mulawDecode, mulawEncode } from '../../../src/media/g711.js';
import { OpusDecoderStream } from '../../../src/media/opus.js';
import { EncodedSource } from '../../../src/media/opus-sources.js';
import { isRtcp, parseRtpHeader } from '../../../src/media/rtp.js';
import { twilioConnected, twilioInboundMedia, twilioStart } from '../../../src/protocol/twilio.js';
import { OpusSender } from '../../../src/rtc/opus-sender.js';
import type { Peer } from '../../../src/rtc/peer.js';
import WebSocket from 'ws';
import { LINE_NOISE } from './twilio-legs.js';

/** A sample at least this loud starts a burst (the tone is 0.5 of full scale, 16,384). */
const ONSET = 4000;
/** Below ONSET for this long, a loud sample is a new burst's onset, ms. */
const QUIET_MS = 200;
const PERIOD_FRAMES = 25; // 500 ms
const BURST_FRAMES = 5; // 100 ms

/** Finds burst onsets in a stream of chunks; each onset's time is the arrival plus the sample's offset. */
class OnsetDetector {
  private quietSamples = Infinity;
  readonly onsets: number[] = [];

  constructor(private readonly rate: number) {}

  push(samples: Int16Array, arrivedAt: number): void {
    const quiet = (QUIET_MS * this.rate) / 1000;
    for (let i = 0; i < samples.length; i++) {
      if (Math.abs(samples[i]!) < ONSET) { this.quietSamples++; continue; }
      if (this.quietSamples >= quiet) this.onsets.push(arrivedAt + (i * 1000) / this.rate);
      this.quietSamples = 0;
    }
  }
}

/** 20 ms frames of silence with a tone burst every period; calls `onBurst` as a burst's first frame is taken. */
class BurstFrames implements PcmFrameSource {
  readonly ended = false;
  /** Whether the last frame given was tone (else silence). */
  inBurst = false;
  private readonly tone: ToneFrames;
  private readonly silence: Int16Array;
  private index = 0;

  constructor(hz: number, rate: number, private readonly phaseFrames: number, private readonly onBurst: () => void) {
    this.tone = new ToneFrames(hz, rate);
    this.silence = new Int16Array(rate / 50);
  }

  nextFrame(): Int16Array {
    const at = (this.index++ + this.phaseFrames) % PERIOD_FRAMES;
    if (at === 0) this.onBurst();
    this.inBurst = at < BURST_FRAMES;
    return this.inBurst ? this.tone.nextFrame()! : this.silence;
  }
}

export interface LatencyResult {
  /** Mouth-to-ear, ms, one per burst heard. */
  memberToPhone: number[];
  phoneToMember: number[];
  /** Bursts sent each way in the run. */
  sent: { member: number; phone: number };
}

/** Each onset matched to the latest burst sent before it (bursts are 500 ms apart; a match over 400 ms is none). */
function match(sentAt: number[], onsets: number[]): number[] {
  const out: number[] = [];
  for (const t of onsets) {
    let best: number | undefined;
    for (const s of sentAt) if (s <= t) best = s;
    if (best !== undefined && t - best < 400) out.push(t - best);
  }
  return out;
}

/**
 * Runs one member and one caller in `room` on the server at `baseUrl` for `seconds` and
 * measures every burst both ways. The first second after both hear each other is not counted.
 */
export async function measureMouthToEar(baseUrl: string, wsUrl: string, room: string, seconds: number): Promise<LatencyResult> {
  const memberSent: number[] = [];
  const phoneSent: number[] = [];
  let counting = false;
  // ---- the WebRTC member: bursts of 1 kHz, hears the phone ----
  const agent = new SfuAgent({ wsUrl, room, name: 'page', audio: true, peer: { bindAddress: '127.0.0.1' } });
  const memberEar = new OnsetDetector(48000);
  const decoder = new OpusDecoderStream(48000);
  let sender: OpusSender | undefined;
  agent.on('negotiated', (peer: Peer) => {
    const track = peer.tracks().find((t) => t.direction === 'sendonly' && t.kind === 'audio');
    if (sender || !track) return;
    sender = new OpusSender(track);
    sender.play(new EncodedSource(new BurstFrames(1000, 48000, 0, () => { if (counting) memberSent.push(performance.now()); })));
  });
  agent.on('track', (_publisher, track) => {
    if (track.kind !== 'audio') return;
    track.onRtp = (p) => {
      if (isRtcp(p)) return;
      const at = performance.now();
      const h = parseRtpHeader(p);
      try {
        const pcm = decoder.decode(p.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength));
        if (counting) memberEar.push(pcm, at);
      } catch { /* not counted */ }
    };
  });
  await agent.start();

  // ---- the Twilio caller: bursts of 700 Hz a quarter period later, hears the member ----
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws/twilio?room=${encodeURIComponent(room)}`);
  const phoneEar = new OnsetDetector(8000);
  const streamSid = 'MZ00000000000000000000000000000bench';
  ws.on('message', (data: Buffer) => {
    const at = performance.now();
    const m = JSON.parse(data.toString()) as { event: string; media?: { payload: string } };
    if (m.event === 'media' && counting) phoneEar.push(mulawDecode(Buffer.from(m.media!.payload, 'base64')), at);
  });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  ws.send(twilioConnected());
  ws.send(twilioStart(1, { accountSid: 'AC00000000000000000000000000000000', streamSid, callSid: 'CA00000000000000000000000000000bench', customParameters: { name: 'probe' } }));
  const phoneFrames = new BurstFrames(700, 8000, PERIOD_FRAMES / 2 | 0, () => { if (counting) phoneSent.push(performance.now()); });
  let seq = 2;
  let chunk = 1;
  const start = performance.now();
  // Paced from its own start time, as Twilio streams: every 20 ms, late timers not accumulating.
  let sentFrames = 0;
  const timer = setInterval(() => {
    while (start + 20 * sentFrames <= performance.now()) {
      const frame = phoneFrames.nextFrame();
      const payload = phoneFrames.inBurst ? mulawEncode(frame) : LINE_NOISE[sentFrames % LINE_NOISE.length]!;
      if (ws.readyState === WebSocket.OPEN) ws.send(twilioInboundMedia(seq++, streamSid, chunk++, 20 * sentFrames, payload));
      sentFrames++;
    }
  }, 1);

  await new Promise((r) => setTimeout(r, 2000)); // both joined, both hearing
  counting = true;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  clearInterval(timer);
  ws.terminate();
  sender?.close();
  await agent.close();
  decoder.release();
  return {
    memberToPhone: match(memberSent, phoneEar.onsets),
    phoneToMember: match(phoneSent, memberEar.onsets),
    sent: { member: memberSent.length, phone: phoneSent.length },
  };
}
