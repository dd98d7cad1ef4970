/**
 * SFU rooms, version 2, with Node members on loopback: a publisher sends pre-encoded VP8 in
 * three simulcast layers (libvpx fixtures, 160x90 / 320x180 / 640x360) plus its microphone;
 * subscribers get the camera as ONE continuous stream whatever layer the server forwards.
 */
import { describe, expect, it } from 'vitest';
import { buildRtcp, nackItemsFromSeqs } from '../../src/media/rtcp.js';
import { parseVp8Descriptor, vp8KeyframeSize } from '../../src/media/vp8.js';
import type { TrackInfo } from '../../src/protocol/signaling.js';
import { Peer } from '../../src/rtc/peer.js';
import { parseSdp } from '../../src/rtc/sdp.js';
import { until } from '../helpers/rtc.js';
import { Probe, useTestServer } from '../helpers/server.js';
import { cameraMember, frequencyOf, PEER, sfuMember, type Received, type SfuMember, type VideoMember } from './sfu-helpers.js';

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });


/** A member that publishes the three fixture layers (when `publish`) and keeps every camera packet it receives. */
function videoMember(room: string, name: string, publish: boolean, join: { autoSubscribe?: boolean } = {}): Promise<VideoMember> {
  return cameraMember(ctx.server.wsUrl, room, name, publish ? 'vp8' : undefined, join);
}

/** Key-frame sizes seen in received packets, in order, with the index of the packet. */
function keyframes(got: Received[]): { at: number; size: string }[] {
  const out: { at: number; size: string }[] = [];
  got.forEach((r, i) => {
    const payload = r.packet.subarray(r.header.payloadOffset, r.header.payloadOffset + r.header.payloadLength);
    const d = parseVp8Descriptor(payload);
    if (!d.keyframe) return;
    const size = vp8KeyframeSize(payload.subarray(d.length));
    if (size) out.push({ at: i, size: `${size.width}x${size.height}` });
  });
  return out;
}

/** Every packet on one SSRC, sequence numbers +1, timestamps never backwards, picture ids never backwards. */
function expectOneContinuousStream(got: Received[]): void {
  expect(new Set(got.map((r) => r.header.ssrc)).size).toBe(1);
  let lastPic = -1;
  for (let i = 1; i < got.length; i++) {
    const prev = got[i - 1]!.header;
    const cur = got[i]!.header;
    expect(cur.sequenceNumber, `packet ${i}`).toBe((prev.sequenceNumber + 1) & 0xffff);
    expect(((cur.timestamp - prev.timestamp) >>> 0) < 0x80000000, `timestamp at ${i}`).toBe(true);
    const pic = parseVp8Descriptor(got[i]!.packet.subarray(cur.payloadOffset)).pictureId!;
    if (lastPic >= 0) expect(((pic - lastPic) & 0x7fff) < 0x4000, `picture id at ${i}`).toBe(true);
    lastPic = pic;
  }
}

/** A counter's value in a Prometheus text page (0 when absent). */
function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('SFU video with simulcast (Node members)', () => {
  it('forwards the highest layer by default as one stream, lists the tracks, and switches to low and back on request', async () => {
    const pub = await videoMember('sfu-vid', 'pub', true);
    const sub = await videoMember('sfu-vid', 'sub', false);
    const pubId = pub.agent.id!;
    const cameraId = `${pubId}-camera`;
    await until(() => sub.tracks.some((t) => t.id === cameraId && t.layers.length === 3), 10_000, 'the camera in the track list');
    expect(sub.tracks.find((t) => t.id === cameraId)).toEqual({
      id: cameraId, publisher: pubId, kind: 'video', source: 'camera', codec: 'VP8', layers: ['low', 'medium', 'high'], muted: false,
    });
    // The stream starts at the first key frame of any layer and settles on the top one (auto).
    await until(() => keyframes(sub.video.get(pubId) ?? []).some((k) => k.size === '640x360'), 15_000, 'the high layer');
    await until(() => sub.layers.at(-1)?.quality === 'high', 2000, 'layer high announced');
    expect(sub.layers.at(-1)).toEqual({ type: 'layer', track: cameraId, quality: 'high', reason: 'requested' });

    const requested = performance.now();
    sub.agent.setLayer(cameraId, 'low');
    await until(() => keyframes(sub.video.get(pubId)!).some((k) => k.size === '160x90'), 5000, 'the low layer');
    const got = sub.video.get(pubId)!;
    const switchedAt = got[keyframes(got).find((k) => k.size === '160x90')!.at]!.at;
    expect(switchedAt - requested).toBeLessThan(1500); // a key frame was asked for, not waited for
    await until(() => sub.layers.some((l) => l.quality === 'low'), 2000, 'layer low announced');
    // Nobody wants medium or high now: the publisher is told so.
    await until(() => pub.publishLayers.at(-1)?.active.join() === 'low', 3000, 'publish-layers low');

    sub.agent.setLayer(cameraId, 'high');
    await until(() => keyframes(sub.video.get(pubId)!).filter((k) => k.size === '640x360').length >= 2, 5000, 'back to high');
    await new Promise((r) => setTimeout(r, 500));
    expectOneContinuousStream(sub.video.get(pubId)!);
    expect(new Set(sub.video.get(pubId)!.map((r) => r.header.ssrc))).toEqual(new Set([sub.videoTracks.get(pubId)!.remoteSsrcs[0]]));
    await sub.stop();
    await pub.stop();
  });

  it('a publisher that missed a publish-layers (sends none of the wanted layers) is told again, and the subscriber gets video again', async () => {
    const pub = await videoMember('sfu-retell', 'pub', true);
    const sub = await videoMember('sfu-retell', 'sub', false);
    const pubId = pub.agent.id!;
    await until(() => sub.layers.at(-1)?.quality === 'high', 15_000, 'high forwarded');
    await until(() => pub.publishLayers.length > 0, 5000, 'a first publish-layers');
    // What a browser whose setParameters failed mid-negotiation does: it stays paused.
    pub.camera!.sender()!.setActive([false, false, false]);
    const told = pub.publishLayers.length;
    await new Promise((r) => setTimeout(r, 500));
    const before = sub.video.get(pubId)!.length;
    await until(() => pub.publishLayers.length > told, 6000, 'publish-layers again');
    expect(pub.publishLayers.at(-1)!.active).toEqual(['high']);
    await until(() => sub.video.get(pubId)!.length > before + 30, 5000, 'video flowing again');
    await sub.stop();
    await pub.stop();
  });

  it('a subscriber that joins with autoSubscribe false gets nothing until it subscribes; an ended track is TRACK_NOT_FOUND', async () => {
    const pub = await videoMember('sfu-manual', 'pub', true);
    const sub = await videoMember('sfu-manual', 'sub', false, { autoSubscribe: false });
    const pubId = pub.agent.id!;
    await until(() => sub.tracks.some((t) => t.id === `${pubId}-camera`), 10_000, 'the camera listed');
    await until(() => sub.agent.server?.connected === true, 10_000, 'connected');
    await new Promise((r) => setTimeout(r, 500));
    expect(sub.video.size).toBe(0);
    sub.agent.setSubscribed(pubId, true, `${pubId}-camera`);
    await until(() => (sub.video.get(pubId)?.length ?? 0) > 20, 10_000, 'video after subscribe');
    // The publisher stops its camera but stays: the track leaves the list, and subscribing to it now is TRACK_NOT_FOUND.
    const p = await Probe.open(ctx.server.wsUrl);
    p.send({ type: 'join', room: 'sfu-manual', name: 'probe' });
    await p.next('joined');
    pub.camera!.unpublish();
    await until(() => sub.tracks.length === 0, 5000, 'the track list emptied');
    p.send({ type: 'subscribe', publisher: pubId, track: `${pubId}-camera` });
    expect(await p.next('error')).toMatchObject({ code: 'TRACK_NOT_FOUND', ref: 'subscribe' });
    p.close();
    await sub.stop();
    await pub.stop();
  });

  it('answers a subscriber\'s NACK from the packet cache; /metrics counts the resent packets, key-frame requests and layer switches', async () => {
    const resent = async () => metric(await (await fetch(`${ctx.server.url}/metrics`)).text(), 'callpeer_sfu_nack_packets_total{result="resent"}');
    const pub = await videoMember('sfu-nack', 'pub', true);
    const sub = await videoMember('sfu-nack', 'sub', false);
    const pubId = pub.agent.id!;
    await until(() => (sub.video.get(pubId)?.length ?? 0) > 60, 10_000, 'video');
    const got = sub.video.get(pubId)!;
    const track = sub.videoTracks.get(pubId)!;
    const before = await resent();
    // Ten packets it did receive: the server resends them (the subscriber's SRTP layer drops
    // them as replays, as it should; a real NACK asks for packets that never arrived).
    const asked = got.slice(-40, -30).map((r) => r.header.sequenceNumber);
    const nack = buildRtcp([{ type: 'nack', senderSsrc: track.localSsrc, mediaSsrc: got[0]!.header.ssrc, items: nackItemsFromSeqs(asked) }]);
    // Twice back to back: the second is suppressed (each packet at most once per 100 ms).
    track.send(nack);
    track.send(nack);
    for (let t = 0; t < 30 && (await resent()) < before + 10; t++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 200));
    const text = await (await fetch(`${ctx.server.url}/metrics`)).text();
    expect(metric(text, 'callpeer_sfu_nack_packets_total{result="resent"}')).toBe(before + 10);
    expect(metric(text, 'callpeer_sfu_nack_packets_total{result="suppressed"}')).toBeGreaterThanOrEqual(10);
    expect(metric(text, 'callpeer_sfu_keyframe_requests_total')).toBeGreaterThan(0);
    await sub.stop();
    await pub.stop();
  });

  it('more than three simulcast encodings: INVALID_SDP naming the three used, the rest of the offer answered', async () => {
    const p = await Probe.open(ctx.server.wsUrl);
    p.send({ type: 'join', room: 'sfu-rids', name: 'rids', video: true });
    await p.next('joined');
    const peer = new Peer({ ...PEER, iceServers: [] });
    peer.addAudioTrack({ direction: 'sendonly' });
    peer.addVideoSender();
    const offer = await new Promise<string>((resolve) => peer.on('signal', (sig) => { if (sig.kind === 'description') resolve(sig.sdp); }));
    // Four rids on the video section, the way a browser with four sendEncodings would offer them.
    const eol = offer.includes('\r\n') ? '\r\n' : '\n';
    const fourRids = offer.replace(/(a=mid:1)(\r?\n)/, `$1$2a=rid:a send${eol}a=rid:b send${eol}a=rid:c send${eol}a=rid:d send${eol}a=simulcast:send a;b;c;d${eol}`);
    expect(fourRids).not.toBe(offer);
    p.send({ type: 'offer', sdp: fourRids });
    const answer = await p.next('answer');
    expect(parseSdp(answer.sdp).media.map((m) => m.direction)).toEqual(['recvonly', 'recvonly']);
    const err = await p.next('error');
    expect(err).toMatchObject({ code: 'INVALID_SDP', ref: 'offer' });
    expect(err.message).toMatch(/4 simulcast encodings.*at most 3.*a, b, c/);
    p.send({ type: 'ping', id: 'alive' });
    expect(await p.next('pong')).toMatchObject({ id: 'alive' });
    peer.close();
    p.close();
  });

  it('unsubscribe stops a camera, subscribe resumes it at a key frame as the same continuous stream', async () => {
    const pub = await videoMember('sfu-resub', 'pub', true);
    const sub = await videoMember('sfu-resub', 'sub', false);
    // Another subscriber keeps the layer flowing (else the publisher pauses it: publish-layers).
    const other = await videoMember('sfu-resub', 'other', false);
    const pubId = pub.agent.id!;
    const camera = `${pubId}-camera`;
    await until(() => (sub.video.get(pubId)?.length ?? 0) > 30, 10_000, 'video');
    sub.agent.setSubscribed(pubId, false, camera);
    await new Promise((r) => setTimeout(r, 300));
    const stopped = sub.video.get(pubId)!.length;
    await new Promise((r) => setTimeout(r, 700));
    expect(sub.video.get(pubId)!.length).toBe(stopped);
    sub.agent.setSubscribed(pubId, true, camera);
    await until(() => sub.video.get(pubId)!.length > stopped + 30, 5000, 'video again');
    const resumed = sub.video.get(pubId)!.slice(stopped);
    // The first packet after the pause starts a key frame: the decoder has what it needs.
    const first = resumed[0]!;
    expect(parseVp8Descriptor(first.packet.subarray(first.header.payloadOffset)).keyframe).toBe(true);
    expectOneContinuousStream(sub.video.get(pubId)!);
    await other.stop();
    await sub.stop();
    await pub.stop();
  });

  it('refuses bad layer and subscription requests with protocol errors and keeps the member', async () => {
    const pub = await videoMember('sfu-bad', 'pub', true);
    const p = await Probe.open(ctx.server.wsUrl);
    p.send({ type: 'join', room: 'sfu-bad', name: 'probe' });
    await p.next('joined');
    let tracks: { tracks: TrackInfo[] } = await p.next('tracks');
    while (!tracks.tracks.some((t) => t.id === `${pub.agent.id}-camera`)) tracks = await p.next('tracks', 10_000);
    p.send({ type: 'layer', track: 'nobody-camera', quality: 'low' });
    expect(await p.next('error')).toMatchObject({ code: 'TRACK_NOT_FOUND', ref: 'layer' });
    p.send({ type: 'subscribe', publisher: pub.agent.id!, track: `${pub.agent.id}-screen` });
    expect(await p.next('error')).toMatchObject({ code: 'TRACK_NOT_FOUND', ref: 'subscribe' });
    // A real track, but this member has no server connection to receive it on yet.
    p.send({ type: 'subscribe', publisher: pub.agent.id!, track: `${pub.agent.id}-camera` });
    const early = await p.next('error');
    expect(early).toMatchObject({ code: 'INVALID_MESSAGE', ref: 'subscribe' });
    expect(early.message).toMatch(/send an offer before "subscribe"/);
    // `layer` before the offer is kept for later, not refused.
    p.send({ type: 'layer', track: `${pub.agent.id}-camera`, quality: 'low' });
    p.send({ type: 'ping', id: 'alive' });
    expect(await p.next('pong')).toMatchObject({ id: 'alive' });
    p.close();
    await pub.stop();
  });

  it('a receiving member\'s own bad requests are each refused while the video it receives keeps coming, one continuous stream', async () => {
    const pub = await sfuMember(ctx.server.wsUrl, 'sfu-bad-own', 'pub', 440, { camera: true });
    const gone = await videoMember('sfu-bad-own', 'gone', true);
    const sub = await videoMember('sfu-bad-own', 'sub', false);
    const [pubId, goneId] = [pub.agent.id!, gone.agent.id!];
    await until(() => (sub.video.get(pubId)?.length ?? 0) > 20, 10_000, 'the camera at the subscriber');
    gone.camera!.unpublish();
    await until(() => !sub.tracks.some((t) => t.id === `${goneId}-camera`), 5000, 'the ended camera off the list');
    const before = sub.video.get(pubId)!.length;
    sub.agent.client.send({ type: 'layer', track: `${pubId}-microphone`, quality: 'low' });
    sub.agent.client.send({ type: 'layer', track: 'nobody-camera', quality: 'high' });
    sub.agent.client.send({ type: 'subscribe', publisher: goneId, track: `${goneId}-camera` });
    await until(() => sub.errors.length >= 3, 5000, 'three refusals');
    expect(sub.errors.map((e) => `${e.ref} ${e.code}`)).toEqual(['layer INVALID_MESSAGE', 'layer TRACK_NOT_FOUND', 'subscribe TRACK_NOT_FOUND']);
    expect(sub.errors[0]!.message).toMatch(/audio track/);
    // 15 frames a second of the top layer: at least 15 packets in the next second, no gap.
    await new Promise((r) => setTimeout(r, 1000));
    expect(sub.video.get(pubId)!.length - before).toBeGreaterThanOrEqual(15);
    expectOneContinuousStream(sub.video.get(pubId)!);
    expect(sub.agent.server?.connected).toBe(true);
    await sub.stop();
    await gone.stop();
    await pub.stop();
  });
});

describe('SFU churn (bounded SDP)', () => {
  it('20 members with microphone and camera join and leave in turn while two stay: the two\'s sections stay bounded, media flows', async () => {
    const stay = [await sfuMember(ctx.server.wsUrl, 'sfu-churn', 'stay-a', 440, { camera: true }), await sfuMember(ctx.server.wsUrl, 'sfu-churn', 'stay-b', 660, { camera: true })];
    const [a, b] = stay as [SfuMember, SfuMember];
    await until(() => (a.heard.get(b.agent.id!)?.length ?? 0) > 10 && (b.heard.get(a.agent.id!)?.length ?? 0) > 10, 10_000, 'the two hear each other');
    const sections = (m: SfuMember) => m.agent.server?.tracks().length ?? 0;
    let most = 0;
    for (let i = 0; i < 20; i++) {
      const c = await sfuMember(ctx.server.wsUrl, 'sfu-churn', `churn-${i}`, 300 + i * 10, { camera: true });
      const id = c.agent.id!;
      await until(() => (a.heard.get(id)?.length ?? 0) > 0 && (b.heard.get(id)?.length ?? 0) > 0, 10_000, `both hear churn-${i}`);
      await c.stop();
      most = Math.max(most, sections(a), sections(b));
    }
    // Own microphone and camera, the other's two, one churner's two: 6; without reuse it would be 44.
    expect(most).toBeLessThanOrEqual(6);
    const before = [a.heard.get(b.agent.id!)!.length, b.heard.get(a.agent.id!)!.length];
    await new Promise((r) => setTimeout(r, 1000));
    expect(a.heard.get(b.agent.id!)!.length - before[0]!).toBeGreaterThan(30);
    expect(b.heard.get(a.agent.id!)!.length - before[1]!).toBeGreaterThan(30);
    expect(Math.abs(frequencyOf(a.heard.get(b.agent.id!)!.slice(-50)) - 660)).toBeLessThanOrEqual(2);
    for (const m of stay) await m.stop();
  }, 90_000);
});
