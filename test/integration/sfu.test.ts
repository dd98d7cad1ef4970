/**
 * SFU rooms (`serve --topology sfu`): Node members (SfuAgent, node-datachannel on loopback)
 * connect only to the server, which forwards each publisher's Opus RTP to everyone else.
 */
import { describe, expect, it } from 'vitest';
import { joinRoom } from '../../src/client/room-agent.js';
import { SfuAgent } from '../../src/client/sfu-agent.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { OpusDecoderStream } from '../../src/media/opus.js';
import { isRtcp, parseRtpHeader } from '../../src/media/rtp.js';
import type { MediaTrack } from '../../src/rtc/media-track.js';
import { OpusSender } from '../../src/rtc/opus-sender.js';
import { ToneSource } from '../../src/rtc/opus-sources.js';
import { until } from '../helpers/rtc.js';
import { Probe, useTestServer } from '../helpers/server.js';

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });
const PEER = { bindAddress: '127.0.0.1' };

interface Heard { packets: Buffer[]; track: MediaTrack }

/** An agent that publishes a tone and keeps every packet it hears, by publisher id. */
async function member(room: string, name: string, hz: number | undefined) {
  const agent = new SfuAgent({ wsUrl: ctx.server.wsUrl, room, name, audio: hz !== undefined, peer: PEER });
  const heard = new Map<string, Heard>();
  let sender: OpusSender | undefined;
  agent.on('track', (publisher, track) => {
    const h: Heard = { packets: [], track };
    heard.set(publisher, h);
    track.onRtp = (p) => { if (!isRtcp(p)) h.packets.push(Buffer.from(p)); };
  });
  agent.on('negotiated', (peer) => {
    if (hz === undefined || sender) return;
    const track = peer.tracks().find((t) => t.direction === 'sendonly');
    if (!track) return;
    sender = new OpusSender(track);
    sender.play(new ToneSource(hz));
  });
  await agent.start();
  return { agent, heard, stop: async () => { sender?.close(); await agent.close(); } };
}

function frequencyOf(packets: Buffer[]): number {
  const dec = new OpusDecoderStream(48000);
  const pcm = new Int16Array(packets.length * 960);
  packets.forEach((p, i) => {
    const h = parseRtpHeader(p);
    pcm.set(dec.decode(p.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength)), i * 960);
  });
  return dominantFrequency(pcm.subarray(pcm.length / 2), 48000);
}

describe('SFU rooms', () => {
  it('three members each hear the other two, named by publisher, at their tones, with continuous sequence numbers', async () => {
    const tones = [440, 660, 880];
    const a = await member('sfu-three', 'a', tones[0]);
    const b = await member('sfu-three', 'b', tones[1]);
    const c = await member('sfu-three', 'c', tones[2]);
    const all = [a, b, c];
    const ids = all.map((m) => m.agent.id!);
    await until(() => all.every((m) => m.heard.size === 2 && [...m.heard.values()].every((h) => h.packets.length >= 60)), 15_000, 'every member hears two streams');
    for (const [i, m] of all.entries()) {
      expect([...m.heard.keys()].sort()).toEqual(ids.filter((_, k) => k !== i).sort());
      for (const [publisher, h] of m.heard) {
        const packets = h.packets.slice(0, 60);
        // Only SSRC and payload type are rewritten: our track's SSRC, sequence numbers +1.
        const headers = packets.map(parseRtpHeader);
        expect(new Set(headers.map((x) => x.ssrc))).toEqual(new Set(h.track.remoteSsrcs));
        headers.forEach((x, k) => { if (k > 0) expect(x.sequenceNumber).toBe((headers[k - 1]!.sequenceNumber + 1) & 0xffff); });
        expect(Math.abs(frequencyOf(packets) - tones[ids.indexOf(publisher)]!)).toBeLessThanOrEqual(1);
      }
    }
    // One server connection per member, not a mesh.
    for (const m of all) expect(m.agent.server?.connected).toBe(true);
    for (const m of all) await m.stop();
  });

  it('a listener that publishes nothing hears a publisher who joined before and one who joined after it', async () => {
    const early = await member('sfu-listen', 'early', 500);
    const listener = await member('sfu-listen', 'listener', undefined);
    const late = await member('sfu-listen', 'late', 700);
    await until(() => listener.heard.size === 2 && [...listener.heard.values()].every((h) => h.packets.length >= 30), 15_000, 'the listener hears both');
    expect(Math.abs(frequencyOf(listener.heard.get(early.agent.id!)!.packets.slice(0, 30)) - 500)).toBeLessThanOrEqual(1);
    expect(Math.abs(frequencyOf(listener.heard.get(late.agent.id!)!.packets.slice(0, 30)) - 700)).toBeLessThanOrEqual(1);
    // Publishers do not hear the listener (it sends nothing): one stream each.
    await until(() => early.heard.size === 1 && late.heard.size === 1, 5000, 'publishers hear each other');
    for (const m of [early, listener, late]) await m.stop();
  });

  it('unsubscribe stops forwarding one publisher, subscribe resumes it; a leaver stops being forwarded', async () => {
    const a = await member('sfu-sub', 'a', 300);
    const b = await member('sfu-sub', 'b', 400);
    await until(() => (b.heard.get(a.agent.id!)?.packets.length ?? 0) >= 10, 10_000, 'b hears a');
    b.agent.setSubscribed(a.agent.id!, false);
    await new Promise((r) => setTimeout(r, 300));
    const paused = b.heard.get(a.agent.id!)!.packets.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(b.heard.get(a.agent.id!)!.packets.length).toBe(paused);
    b.agent.setSubscribed(a.agent.id!, true);
    await until(() => b.heard.get(a.agent.id!)!.packets.length >= paused + 10, 5000, 'forwarding resumed');
    // a leaves: b stops receiving it, and keeps its own connection.
    const aId = a.agent.id!;
    await a.stop();
    await new Promise((r) => setTimeout(r, 300));
    const after = b.heard.get(aId)!.packets.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(b.heard.get(aId)!.packets.length).toBe(after);
    expect(b.agent.server?.connected).toBe(true);
    await b.stop();
  });

  it('joinRoom picks the SFU agent for an SFU room; SfuAgent.start refuses nothing here', async () => {
    const events: string[] = [];
    const { agent, joined } = await joinRoom({ wsUrl: ctx.server.wsUrl, room: 'sfu-join', name: 'j', peer: PEER }, (a) => {
      a.on('joined', () => events.push('joined'));
    });
    expect(joined.room.topology).toBe('sfu');
    expect(agent).toBeInstanceOf(SfuAgent);
    expect(events).toEqual(['joined']); // listeners were attached before it entered
    await until(() => (agent as SfuAgent).server?.connected === true, 8000, 'connected to the server');
    await agent.close();
  });

  it('refuses what does not fit an SFU room with a protocol error, and keeps the socket', async () => {
    const p = await Probe.open(ctx.server.wsUrl);
    p.send({ type: 'join', room: 'sfu-errors' });
    const joined = await p.next('joined');
    expect(joined.room.topology).toBe('sfu');
    p.send({ type: 'offer', to: 'someone', sdp: 'v=0' });
    expect(await p.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', ref: 'offer' });
    p.send({ type: 'answer', sdp: 'v=0' });
    expect(await p.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', ref: 'answer' });
    p.send({ type: 'offer', sdp: 'not sdp at all' });
    expect(await p.next('error')).toMatchObject({ code: 'INVALID_SDP', ref: 'offer' });
    p.send({ type: 'subscribe', publisher: 'nobody', track: 'audio' });
    expect(await p.next('error')).toMatchObject({ code: 'PEER_NOT_FOUND', ref: 'subscribe' });
    p.send({ type: 'subscribe', publisher: 'nobody', track: 'video' });
    expect(await p.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', ref: 'subscribe' });
    p.send({ type: 'layer', track: 'audio', quality: 'low' });
    expect(await p.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', ref: 'layer' });
    p.send({ type: 'ping', id: 'still-open' });
    expect(await p.next('pong')).toMatchObject({ id: 'still-open' });
    p.close();
  });
});
