/**
 * WHEP egress from SFU rooms: a WhepClient (node-datachannel, a receive-only non-trickle offer)
 * views through `POST /whep/<room>` what a WHIP publisher sends into the room: the tone at its
 * pitch and the camera at its size, in the sections the viewer offered (no renegotiation).
 * `?publisher=` picks whose tracks; without it, a section whose publisher left takes the next
 * one's. Refusals: a send-only offer, a mesh room, a token that may not subscribe.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { WhepClient } from '../../src/client/whep-client.js';
import { WhipClient } from '../../src/client/whip-client.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { isRtcp, parseRtpHeader } from '../../src/media/rtp.js';
import { parseVp8Descriptor, vp8KeyframeSize } from '../../src/media/vp8.js';
import type { MediaTrack } from '../../src/rtc/media-track.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { RtpReceiver } from '../../src/rtc/rtp-receiver.js';
import { Vp8SimulcastSender } from '../../src/rtc/vp8-sender.js';
import { handMadeJwt } from '../helpers/jwt.js';
import { parseMetrics } from '../helpers/metrics.js';
import { until } from '../helpers/rtc.js';
import { startTestServer, useTestServer } from '../helpers/server.js';
import { frequencyOf, PEER, sfuMember, VP8_LAYERS } from './sfu-helpers.js';

afterAll(() => cleanupRtc());

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });
const http = () => ctx.server.url;

/** Keeps a track's RTP packets (from `since` on, when asked again). */
function keep(track: MediaTrack): { packets: Buffer[] } {
  const kept = { packets: [] as Buffer[] };
  track.onRtp = (p) => { if (!isRtcp(p)) kept.packets.push(Buffer.from(p)); };
  return kept;
}

async function publisher(room: string, name: string, hz: number, video = false): Promise<{ whip: WhipClient; stop(): Promise<void> }> {
  const whip = new WhipClient({ url: `${http()}/whip/${room}?name=${name}`, video, peer: PEER });
  await whip.start();
  void whip.play(new ToneSource(hz, { durationMs: 600_000 }));
  const camera = video ? new Vp8SimulcastSender(whip.videoTrack!, [VP8_LAYERS[2]!], { fps: 15 }) : undefined;
  return { whip, stop: async () => { camera?.close(); await whip.stop(); } };
}

describe('WHEP egress', () => {
  it('a WHEP viewer receives a WHIP publisher\'s tone and camera in its own sections; DELETE ends it', async () => {
    const cam = await publisher('whep-room', 'Cam', 660, true);
    const whep = new WhepClient({ url: `${http()}/whep/whep-room?name=Screen`, peer: PEER });
    const audio = keep(whep.audioTrack);
    const video = keep(whep.videoTrack!);
    const session = await whep.start();
    expect(session.resource).toMatch(new RegExp(`^${http()}/whep/whep-room/[A-Za-z0-9_-]+$`));
    // Answered in the offer's own sections, send-only, with every candidate.
    expect(session.answer.match(/^a=sendonly/gm)).toHaveLength(2);
    expect(session.answer).toMatch(/^a=candidate:.* 127\.0\.0\.1 \d+ typ host/m);
    expect(whep.receiving().map((t) => t.kind)).toEqual(['audio', 'video']);
    expect(whep.setup!.connected).toBeGreaterThanOrEqual(whep.setup!.answer);
    await until(() => audio.packets.length >= 50, 10_000, 'the viewer hears the tone');
    expect(Math.abs(frequencyOf(audio.packets) - 660)).toBeLessThanOrEqual(2);
    // Every packet in the payload type the viewer offered, under the SSRC our answer named.
    const opusPt = Number(/^a=rtpmap:(\d+) opus/im.exec(session.answer)![1]);
    expect(new Set(audio.packets.map((p) => parseRtpHeader(p).payloadType))).toEqual(new Set([opusPt]));
    await until(() => video.packets.some(isKeyframe), 10_000, 'the viewer gets a key frame');
    const sizes = video.packets.filter(isKeyframe).map((p) => {
      const h = parseRtpHeader(p);
      const payload = p.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
      return vp8KeyframeSize(payload.subarray(parseVp8Descriptor(payload).length));
    });
    expect(sizes[0]).toEqual({ width: 640, height: 360 });
    const room = ctx.server.rooms.get('whep-room')!;
    expect(room.participants().map((p) => p.name).sort()).toEqual(['Cam', 'Screen']);
    const metrics = async () => parseMetrics(await (await fetch(`${http()}/metrics`)).text());
    expect((await metrics()).get('callpeer_whep_sessions')).toBe(1);

    expect(await whep.stop()).toBe(200);
    expect(room.participants().map((p) => p.name)).toEqual(['Cam']);
    expect((await fetch(session.resource, { method: 'DELETE' })).status).toBe(404);
    const after = await metrics();
    expect(after.get('callpeer_whep_sessions')).toBe(0);
    expect(after.get('callpeer_whep_requests_total{method="POST",status="201"}')).toBeGreaterThanOrEqual(1);
    await cam.stop();
  });

  it('?publisher= picks whose tracks (by name or id); without it a section whose publisher left takes the next one\'s', async () => {
    const low = await publisher('whep-pick', 'Low', 440);
    const high = await publisher('whep-pick', 'High', 880);
    const chosen = new WhepClient({ url: `${http()}/whep/whep-pick?publisher=High`, video: false, peer: PEER });
    const anyone = new WhepClient({ url: `${http()}/whep/whep-pick`, video: false, peer: PEER });
    const heardChosen = keep(chosen.audioTrack);
    const heardAnyone = keep(anyone.audioTrack);
    await Promise.all([chosen.start(), anyone.start()]);
    await until(() => heardChosen.packets.length >= 50 && heardAnyone.packets.length >= 50, 10_000, 'both viewers hear a tone');
    expect(Math.abs(frequencyOf(heardChosen.packets) - 880)).toBeLessThanOrEqual(2);
    expect(Math.abs(frequencyOf(heardAnyone.packets) - 440)).toBeLessThanOrEqual(2); // the first publisher
    await low.stop();
    const lastSeq = parseRtpHeader(heardAnyone.packets.at(-1)!).sequenceNumber;
    heardAnyone.packets.length = 0;
    await until(() => heardAnyone.packets.length >= 50, 10_000, 'the unpinned viewer hears the next publisher');
    expect(Math.abs(frequencyOf(heardAnyone.packets) - 880)).toBeLessThanOrEqual(2);
    // One stream across the two publishers: the numbers go on (a jump back would be dropped by SRTP's replay check).
    expect(parseRtpHeader(heardAnyone.packets[0]!).sequenceNumber).toBe((lastSeq + 1) & 0xffff);
    await Promise.all([chosen.stop(), anyone.stop(), high.stop()]);
  });

  it('a viewer that vanishes without DELETE (a crashed player) leaves once its receiver reports stop (15 s), not at ICE consent', async () => {
    const cam = await publisher('whep-crash', 'Cam', 440);
    const whep = new WhepClient({ url: `${http()}/whep/whep-crash?name=Player`, video: false, peer: PEER });
    // A player reports what it receives (RFC 3550 receiver reports, about once a second here).
    const receiver = new RtpReceiver(whep.audioTrack, {});
    const session = await whep.start();
    await until(() => receiver.stats().some((s) => s.received > 100), 10_000, 'the player receives');
    const room = ctx.server.rooms.get('whep-crash')!;
    expect(room.participants().map((p) => p.name).sort()).toEqual(['Cam', 'Player']);
    receiver.close();
    whep.peer.close(); // a crash: no DELETE
    const t0 = Date.now();
    await until(() => room.participants().length === 1, 25_000, 'the player leaves');
    const gone = Date.now() - t0;
    expect(gone).toBeGreaterThan(13_000); // not at once: a player may report every few seconds
    expect(gone).toBeLessThan(20_000); // well before ICE consent's 30 s
    expect((await fetch(session.resource, { method: 'DELETE' })).status).toBe(404);
    await cam.stop();
  }, 35_000);

  it('refuses a send-only offer (400), a mesh room (409) and, with auth on, a token that may not subscribe (401)', async () => {
    // A WHIP client's offer sent to /whep: it receives nothing.
    const whip = new WhipClient({ url: `${http()}/whep/whep-refuse`, peer: PEER });
    await expect(whip.start()).rejects.toThrow(/WHIP endpoint refused \(400 INVALID_SDP\): the offer receives no audio or video/);
    await whip.stop();
    expect(ctx.server.rooms.get('whep-refuse')).toBeUndefined();
    // A receive-only offer in codecs the room does not forward (no Opus): 422, nobody left behind.
    const noOpus = readFileSync(new URL('../fixtures/rtc/chromium-offer-recvonly.sdp', import.meta.url), 'utf8').replace('opus/48000/2', 'L16/48000/2');
    const refused = await fetch(`${http()}/whep/whep-refuse`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: noOpus });
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('CODEC_NOT_SUPPORTED');
    expect(ctx.server.rooms.get('whep-refuse')?.size ?? 0).toBe(0);
    // A WHIP session is not a WHEP resource.
    const pub = await publisher('whep-refuse', 'P', 440);
    const status = (await fetch(`${http()}/whep/whep-refuse/nosuch`, { method: 'DELETE' })).status;
    expect(status).toBe(404);
    await pub.stop();

    const mesh = await startTestServer({ rtcBind: '127.0.0.1' });
    try {
      const viewer = new WhepClient({ url: `${mesh.url}/whep/mesh-room`, peer: PEER });
      await expect(viewer.start()).rejects.toThrow(/WHEP endpoint refused \(409 SFU_NOT_ENABLED\).*mesh room: WHEP views SFU rooms/);
      await viewer.stop();
      expect(mesh.rooms.size).toBe(0);
    } finally {
      await mesh.close();
    }

    const secret = 'a-test-secret-of-at-least-32-bytes!!';
    const token = (claims: Record<string, unknown>) => handMadeJwt({ exp: Math.floor(Date.now() / 1000) + 600, ...claims }, secret);
    const auth = await startTestServer({ authSecret: secret, topology: 'sfu', rtcBind: '127.0.0.1' });
    try {
      const admin = `Bearer ${token({ sub: 'root', roles: ['admin'] })}`;
      expect((await fetch(`${auth.url}/api/rooms`, { method: 'POST', body: JSON.stringify({ id: 'show' }), headers: { 'content-type': 'application/json', authorization: admin } })).status).toBe(201);
      const deaf = new WhepClient({ url: `${auth.url}/whep/show`, token: token({ sub: 'v', room: 'show', subscribe: false }), peer: PEER });
      await expect(deaf.start()).rejects.toThrow(/401 UNAUTHORIZED.*does not allow subscribing/);
      await deaf.stop();
      const ok = new WhepClient({ url: `${auth.url}/whep/show`, token: token({ sub: 'v', room: 'show' }), peer: PEER });
      await ok.start();
      expect(auth.rooms.get('show')?.size).toBe(1);
      expect(await ok.stop()).toBe(200);
    } finally {
      await auth.close();
    }
  });
});

function isKeyframe(p: Buffer): boolean {
  const h = parseRtpHeader(p);
  const payload = p.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
  return parseVp8Descriptor(payload).keyframe;
}
