/**
 * SFU rooms (`serve --topology sfu`): Node members (SfuAgent, node-datachannel on loopback)
 * connect only to the server, which forwards each publisher's Opus RTP to everyone else.
 */
import { describe, expect, it } from 'vitest';
import { joinRoom } from '../../src/client/room-agent.js';
import { SfuAgent } from '../../src/client/sfu-agent.js';
import { VP8_CODEC } from '../../src/rtc/native.js';
import { Peer } from '../../src/rtc/peer.js';
import { parseSdp } from '../../src/rtc/sdp.js';
import type { TracksMessage } from '../../src/protocol/signaling.js';
import { parseRtpHeader } from '../../src/media/rtp.js';
import { until } from '../helpers/rtc.js';
import { frequencyOf, PEER, sfuMember } from './sfu-helpers.js';
import { Probe, useTestServer } from '../helpers/server.js';

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });

const member = (room: string, name: string, hz: number | undefined) => sfuMember(ctx.server.wsUrl, room, name, hz);

describe('SFU rooms', () => {
  it('three members each hear the other two, named by publisher, at their tones, with continuous sequence numbers', async () => {
    const tones = [440, 660, 880];
    const a = await member('sfu-three', 'a', tones[0]);
    const b = await member('sfu-three', 'b', tones[1]);
    const c = await member('sfu-three', 'c', tones[2]);
    const all = [a, b, c];
    const ids = all.map((m) => m.agent.id!);
    await until(() => all.every((m) => m.heard.size === 2 && [...m.heard.values()].every((h) => h.length >= 60)), 15_000, 'every member hears two streams');
    for (const [i, m] of all.entries()) {
      expect([...m.heard.keys()].sort()).toEqual(ids.filter((_, k) => k !== i).sort());
      for (const [publisher, heard] of m.heard) {
        const packets = heard.slice(0, 60);
        // Only SSRC and payload type are rewritten: our track's SSRC, sequence numbers +1.
        const headers = packets.map(parseRtpHeader);
        expect(new Set(headers.map((x) => x.ssrc))).toEqual(new Set(m.tracks.get(publisher)!.remoteSsrcs));
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
    await until(() => listener.heard.size === 2 && [...listener.heard.values()].every((h) => h.length >= 30), 15_000, 'the listener hears both');
    expect(Math.abs(frequencyOf(listener.heard.get(early.agent.id!)!.slice(0, 30)) - 500)).toBeLessThanOrEqual(1);
    expect(Math.abs(frequencyOf(listener.heard.get(late.agent.id!)!.slice(0, 30)) - 700)).toBeLessThanOrEqual(1);
    // Publishers do not hear the listener (it sends nothing): one stream each.
    await until(() => early.heard.size === 1 && late.heard.size === 1, 5000, 'publishers hear each other');
    for (const m of [early, listener, late]) await m.stop();
  });

  it('unsubscribe stops forwarding one publisher, subscribe resumes it; a leaver stops being forwarded', async () => {
    const a = await member('sfu-sub', 'a', 300);
    const b = await member('sfu-sub', 'b', 400);
    await until(() => (b.heard.get(a.agent.id!)?.length ?? 0) >= 10, 10_000, 'b hears a');
    b.agent.setSubscribed(a.agent.id!, false);
    await new Promise((r) => setTimeout(r, 300));
    const paused = b.heard.get(a.agent.id!)!.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(b.heard.get(a.agent.id!)!.length).toBe(paused);
    b.agent.setSubscribed(a.agent.id!, true);
    await until(() => b.heard.get(a.agent.id!)!.length >= paused + 10, 5000, 'forwarding resumed');
    // a leaves: b stops receiving it, and keeps its own connection.
    const aId = a.agent.id!;
    await a.stop();
    await new Promise((r) => setTimeout(r, 300));
    const after = b.heard.get(aId)!.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(b.heard.get(aId)!.length).toBe(after);
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

  it('takes VP8 video, refuses a codec the room does not allow with CODEC_NOT_SUPPORTED, and lists the track', async () => {
    const p = await Probe.open(ctx.server.wsUrl);
    p.send({ type: 'join', room: 'sfu-video', name: 'raw', video: true });
    const joined = await p.next('joined');
    const peer = new Peer({ ...PEER, iceServers: [] });
    peer.addAudioTrack({ direction: 'sendonly' });
    peer.addVideoSender();
    peer.addVideoSender({ ...VP8_CODEC, payloadType: 98, name: 'VP9' });
    const offer = await new Promise<string>((resolve) => peer.on('signal', (sig) => { if (sig.kind === 'description') resolve(sig.sdp); }));
    p.send({ type: 'offer', sdp: offer });
    const answer = await p.next('answer');
    expect(answer.from).toBe('server');
    const media = parseSdp(answer.sdp).media;
    expect(media.map((m) => m.kind)).toEqual(['audio', 'video', 'video']);
    expect(media[0]!.direction).toBe('recvonly');
    expect(media[1]!.direction).toBe('recvonly');
    expect(media[1]!.codecs.map((c) => c.name)).toEqual(['VP8']);
    expect(media[2]!.port === 0 || media[2]!.direction === 'inactive').toBe(true);
    const refusal = await p.next('error');
    expect(refusal).toMatchObject({ code: 'CODEC_NOT_SUPPORTED', ref: 'offer' });
    expect(refusal.message).toMatch(/VP9/);
    const me = joined.id;
    let tracks: TracksMessage = await p.next('tracks');
    while (!tracks.tracks.some((t) => t.id === `${me}-camera`)) tracks = await p.next('tracks');
    expect(tracks.tracks.find((t) => t.id === `${me}-camera`)).toMatchObject({
      publisher: me, kind: 'video', source: 'camera', codec: 'VP8', layers: [], muted: false,
    });
    // The audio and the accepted video go on: "layer" on this single-layer track is refused, the socket stays.
    p.send({ type: 'layer', track: `${me}-camera`, quality: 'low' });
    expect(await p.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', ref: 'layer' });
    p.send({ type: 'layer', track: `${me}-microphone`, quality: 'low' });
    expect(await p.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', ref: 'layer' });
    peer.close();
    p.close();
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
    p.send({ type: 'candidate', candidate: 'candidate:1 1 UDP 1 127.0.0.1 9 typ host', mid: '0' });
    expect(await p.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', ref: 'candidate' });
    p.send({ type: 'offer', sdp: 'not sdp at all' });
    expect(await p.next('error')).toMatchObject({ code: 'INVALID_SDP', ref: 'offer' });
    p.send({ type: 'subscribe', publisher: 'nobody', track: 'audio' });
    expect(await p.next('error')).toMatchObject({ code: 'PEER_NOT_FOUND', ref: 'subscribe' });
    p.send({ type: 'subscribe', publisher: joined.id, track: 'nothing-camera' });
    expect(await p.next('error')).toMatchObject({ code: 'TRACK_NOT_FOUND', ref: 'subscribe' });
    p.send({ type: 'layer', track: 'audio', quality: 'low' });
    expect(await p.next('error')).toMatchObject({ code: 'TRACK_NOT_FOUND', ref: 'layer' });
    p.send({ type: 'layer', track: 'x', quality: 'ultra' });
    expect(await p.next('error')).toMatchObject({ code: 'INVALID_MESSAGE', ref: 'layer' });
    p.send({ type: 'ping', id: 'still-open' });
    expect(await p.next('pong')).toMatchObject({ id: 'still-open' });
    p.close();
  });
});
