/**
 * A Bot and a plain node-datachannel member (MeshAgent) in a room through a real server:
 * tone, echo, RR-based loss, a vanished peer.
 */
import { describe, expect, it } from 'vitest';
import { Bot } from '../../src/bots/bot.js';
import { MeshAgent, type RemotePeer } from '../../src/client/mesh-agent.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { OpusDecoderStream } from '../../src/media/opus.js';
import { parseRtpHeader } from '../../src/media/rtp.js';
import { OpusSender } from '../../src/rtc/opus-sender.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { Pacer } from '../../src/time/pacer.js';
import { RtpReceiver } from '../../src/rtc/rtp-receiver.js';
import type { MediaTrack } from '../../src/rtc/media-track.js';
import { useTestServer } from '../helpers/server.js';

const PEER = { bindAddress: '127.0.0.1' };
const ctx = useTestServer({}, { rtc: true });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A listener: records the audio it receives from each remote as RTP packets. */
function listen(agent: MeshAgent, options: { dropEvery?: number } = {}) {
  const packets: Buffer[] = [];
  const tracks: MediaTrack[] = [];
  const receivers: RtpReceiver[] = [];
  agent.on('track', (_remote: RemotePeer, track: MediaTrack) => {
    tracks.push(track);
    const rx = new RtpReceiver(track, { attach: options.dropEvery === undefined, reportIntervalMs: 200 });
    receivers.push(rx);
    let n = 0;
    if (options.dropEvery !== undefined) {
      track.onRtp = (p) => {
        if (++n % options.dropEvery! === 0) return; // lost on the way
        packets.push(Buffer.from(p));
        rx.handleRtp(p);
      };
    } else {
      track.onRtp = (p) => { packets.push(Buffer.from(p)); rx.handleRtp(p); };
    }
  });
  return { packets, tracks, receivers };
}

function decode(packets: Buffer[]): { pcm: Int16Array; seqs: number[] } {
  const dec = new OpusDecoderStream(48000);
  const chunks: Int16Array[] = [];
  const seqs: number[] = [];
  for (const p of packets) {
    const h = parseRtpHeader(p);
    seqs.push(h.sequenceNumber);
    chunks.push(dec.decode(p.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)));
  }
  const pcm = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { pcm.set(c, at); at += c.length; }
  return { pcm, seqs };
}

describe('callpeer bot', () => {
  it('a --tone 440 bot is heard at 440 Hz (±1 Hz) with no sequence gaps', async () => {
    const listener = new MeshAgent({ wsUrl: ctx.server.wsUrl, room: 'tone', name: 'ear', peer: PEER });
    const heard = listen(listener);
    await listener.start();
    const bot = new Bot({ wsUrl: ctx.server.wsUrl, room: 'tone', source: new ToneSource(440), peer: PEER });
    const joined = await bot.start();
    expect(joined.participants.map((p) => p.name)).toEqual(['ear']);
    await until(() => heard.packets.length >= 75, 8000, '1.5 s of audio');
    const { pcm, seqs } = decode(heard.packets);
    for (let i = 1; i < seqs.length; i++) expect((seqs[i]! - seqs[i - 1]! + 65536) % 65536).toBe(1);
    expect(Math.abs(dominantFrequency(pcm.subarray(4800), 48000) - 440)).toBeLessThanOrEqual(1);
    // the listener sees the bot as a bot
    expect(listener.roomParticipants()).toMatchObject([{ role: 'bot', name: 'callpeer bot' }]);
    await bot.close();
    await listener.close();
  });

  it('echo sends each participant its own audio back', async () => {
    const bot = new Bot({ wsUrl: ctx.server.wsUrl, room: 'echo', echo: true, peer: PEER });
    await bot.start();
    // the person joins after the bot, so the person offers (the browser case)
    const person = new MeshAgent({ wsUrl: ctx.server.wsUrl, room: 'echo', name: 'person', peer: PEER });
    const heard = listen(person);
    let sender: OpusSender | undefined;
    person.on('negotiated', (remote) => {
      const track = remote.peer.tracks().find((t) => t.kind === 'audio');
      if (track && !sender) sender = new OpusSender(track);
    });
    await person.start();
    await until(() => sender !== undefined, 5000, 'negotiation');
    const tone = new ToneSource(600);
    const pacer = new Pacer(() => { const f = tone.nextFrame(); if (f) sender!.sendFrame(f); });
    pacer.start();
    await until(() => heard.packets.length >= 75, 8000, 'echoed audio');
    pacer.stop();
    const { pcm } = decode(heard.packets);
    expect(Math.abs(dominantFrequency(pcm.subarray(4800), 48000) - 600)).toBeLessThanOrEqual(1);
    await person.close();
    await bot.close();
  });

  it('receiver reports tell the bot about 10 % loss when every 10th packet is dropped', async () => {
    const listener = new MeshAgent({ wsUrl: ctx.server.wsUrl, room: 'lossy', name: 'ear', peer: PEER });
    listen(listener, { dropEvery: 10 });
    await listener.start();
    const bot = new Bot({ wsUrl: ctx.server.wsUrl, room: 'lossy', source: new ToneSource(440), peer: PEER });
    await bot.start();
    await until(() => (bot.stats()[0]?.sent.packets ?? 0) >= 150, 8000, '3 s of audio');
    await sleep(500);
    const s = bot.stats()[0]!;
    expect(s.sent.lossPercent).toBeDefined();
    expect(s.sent.lossPercent!).toBeGreaterThan(5);
    expect(s.sent.lossPercent!).toBeLessThan(15);
    expect(s.sent.rttMs).toBeGreaterThanOrEqual(0);
    expect(s.sent.rttMs).toBeLessThan(100);
    await bot.close();
    await listener.close();
  });

  it('a participant who leaves is cleaned up on the bot', async () => {
    const bot = new Bot({ wsUrl: ctx.server.wsUrl, room: 'leave', source: new ToneSource(440), peer: PEER });
    await bot.start();
    const person = new MeshAgent({ wsUrl: ctx.server.wsUrl, room: 'leave', name: 'p', peer: PEER });
    await person.start();
    await until(() => bot.stats().some((s) => s.connected), 5000, 'connection');
    const left = new Promise((r) => bot.once('participant-left', r));
    await person.close();
    await left;
    expect(bot.stats()).toEqual([]);
    await bot.close();
  });
});
