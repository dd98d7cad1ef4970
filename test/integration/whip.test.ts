/**
 * WHIP ingest (RFC 9725) into SFU rooms: a WhipClient (node-datachannel, non-trickle) publishes
 * a tone through `POST /whip/<room>`; an SfuAgent in the room hears it under the name the URL
 * gave, and `DELETE` takes the participant out. Then the refusals RFC 9725 names, each with its
 * status and our protocol code: a wrong content type, an empty or broken offer, a body over the
 * limit, a mesh room, PATCH without or with a stale ETag, an ICE restart, a session that ended.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WhipClient } from '../../src/client/whip-client.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { parseVp8Descriptor, vp8KeyframeSize } from '../../src/media/vp8.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { Vp8SimulcastSender } from '../../src/rtc/vp8-sender.js';
import { handMadeJwt } from '../helpers/jwt.js';
import { parseMetrics } from '../helpers/metrics.js';
import { until } from '../helpers/rtc.js';
import { startTestServer, useTestServer } from '../helpers/server.js';
import { cameraMember, frequencyOf, PEER, sfuMember, VP8_LAYERS } from './sfu-helpers.js';

afterAll(() => cleanupRtc());

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });
const http = () => ctx.server.url;

async function post(path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/sdp' }): Promise<Response> {
  return fetch(`${http()}${path}`, { method: 'POST', headers, body });
}
async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = await res.json() as { error: { code: string; message: string } };
  return { status: res.status, ...body.error };
}

describe('WHIP ingest', () => {
  it('a WHIP client publishes a tone into an SFU room; a member hears it; DELETE ends it', async () => {
    const listener = await sfuMember(ctx.server.wsUrl, 'whip-room', 'listener', undefined);
    const joined = new Promise<string>((resolve) => listener.agent.on('participant-joined', (p) => resolve(`${p.name}:${p.id}`)));
    const whip = new WhipClient({ url: `${http()}/whip/whip-room?name=OBS`, peer: PEER });
    const session = await whip.start();
    expect(session.resource).toMatch(new RegExp(`^${http()}/whip/whip-room/[A-Za-z0-9_-]+$`));
    expect(session.etag).toMatch(/^"[0-9a-f]+"$/);
    // WHIP has no way to trickle server candidates: the answer carries them all.
    expect(session.answer).toMatch(/^a=candidate:.* 127\.0\.0\.1 \d+ typ host/m);
    expect(session.answer).toMatch(/^a=end-of-candidates/m);
    whip.play(new ToneSource(660));
    const metrics = async () => parseMetrics(await (await fetch(`${http()}/metrics`)).text());
    expect((await metrics()).get('callpeer_whip_sessions')).toBe(1);
    const [name, id] = (await joined).split(':');
    expect(name).toBe('OBS');
    await until(() => (listener.heard.get(id!)?.length ?? 0) >= 50, 10_000, 'the listener hears the WHIP tone');
    expect(Math.abs(frequencyOf(listener.heard.get(id!)!) - 660)).toBeLessThanOrEqual(2);

    const left = new Promise<string>((resolve) => listener.agent.on('participant-left', (p) => resolve(p.id)));
    expect(await whip.stop()).toBe(200);
    expect(await left).toBe(id);
    // The session is gone: a second DELETE finds nothing.
    const again = await fetch(session.resource, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('PEER_NOT_FOUND');
    const after = await metrics();
    expect(after.get('callpeer_whip_sessions')).toBe(0);
    expect(after.get('callpeer_whip_requests_total{method="POST",status="201"}')).toBeGreaterThanOrEqual(1);
    expect(after.get('callpeer_whip_requests_total{method="DELETE",status="404"}')).toBeGreaterThanOrEqual(1);
    await listener.stop();
  });

  it('a publisher that vanishes without DELETE (a crash) leaves the room within seconds, and its session is gone', async () => {
    const whip = new WhipClient({ url: `${http()}/whip/crash-room?name=Gone`, peer: PEER });
    const session = await whip.start();
    whip.play(new ToneSource(440));
    await new Promise((r) => setTimeout(r, 500));
    expect(ctx.server.rooms.get('crash-room')?.size).toBe(1);
    whip.peer.close(); // a crash: no DELETE
    // Its media stopping tells (5 s of silence), not ICE consent (30 s).
    const t0 = Date.now();
    await until(() => (ctx.server.rooms.get('crash-room')?.size ?? 0) === 0, 15_000, 'the WHIP participant left');
    expect(Date.now() - t0).toBeLessThan(8000);
    expect((await fetch(session.resource, { method: 'DELETE' })).status).toBe(404);
  });

  it('publishes VP8 video too: a member receives the camera at the size sent', async () => {
    const viewer = await cameraMember(ctx.server.wsUrl, 'whip-video', 'viewer', undefined);
    const whip = new WhipClient({ url: `${http()}/whip/whip-video?name=Cam`, video: true, peer: PEER });
    await whip.start();
    const camera = new Vp8SimulcastSender(whip.videoTrack!, [VP8_LAYERS[2]!], { fps: 15 });
    await until(() => [...viewer.video.values()].some((v) => v.length >= 30), 10_000, 'the viewer receives the WHIP camera');
    const sizes = [...viewer.video.values()][0]!.map(({ packet, header }) => {
      const payload = packet.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength);
      const d = parseVp8Descriptor(payload);
      return d.keyframe ? vp8KeyframeSize(payload.subarray(d.length)) : undefined;
    }).filter((s) => s !== undefined);
    expect(sizes[0]).toEqual({ width: 640, height: 360 });
    expect(viewer.tracks.map((t) => t.source).sort()).toEqual(['camera', 'microphone']);
    camera.close();
    await whip.stop();
    await viewer.stop();
  });

  it('PATCH trickles candidates (204) and needs the session\'s ETag: 428 without, 412 stale, 422 for an ICE restart', async () => {
    const whip = new WhipClient({ url: `${http()}/whip/patch-room`, peer: PEER });
    const session = await whip.start();
    const patch = (body: string, headers: Record<string, string>) => fetch(session.resource, {
      method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag', ...headers }, body,
    });
    const candidate = 'a=mid:0\r\na=candidate:1 1 UDP 2122317823 127.0.0.1 40000 typ host\r\n';
    expect((await patch(candidate, { 'if-match': session.etag! })).status).toBe(204);
    expect((await patch(candidate, { 'if-match': '*' })).status).toBe(204);
    expect((await patch(candidate, {})).status).toBe(428);
    const stale = await patch(candidate, { 'if-match': '"0000"' });
    expect(stale.status).toBe(412);
    expect((await errorOf(stale)).message).toContain('ETag');
    const restart = await patch('a=ice-ufrag:fresh\r\na=ice-pwd:freshpasswordfreshpassword\r\n' + candidate, { 'if-match': '*' });
    expect(restart.status).toBe(422);
    expect((await errorOf(restart)).message).toContain('ICE restarts are not supported');
    const wrongType = await fetch(session.resource, { method: 'PATCH', headers: { 'content-type': 'text/plain', 'if-match': '*' }, body: candidate });
    expect(wrongType.status).toBe(415);
    const garbage = await patch('not sdp at all', { 'if-match': '*' });
    expect(await errorOf(garbage)).toMatchObject({ status: 400, code: 'INVALID_SDP' });
    // Still publishing after all that.
    expect(whip.peer.connected).toBe(true);
    await whip.stop();
  });

  it('refuses what RFC 9725 says to refuse, with our protocol code in a JSON body', async () => {
    expect(await errorOf(await post('/whip/r1', 'v=0', { 'content-type': 'text/plain' }))).toMatchObject({ status: 415, code: 'INVALID_MESSAGE' });
    expect(await errorOf(await post('/whip/r1', ''))).toMatchObject({ status: 400, code: 'INVALID_SDP' });
    expect(await errorOf(await post('/whip/r1', 'this is not an offer'))).toMatchObject({ status: 400, code: 'INVALID_SDP' });
    expect(await errorOf(await post('/whip/r1', 'v=0\r\n'.padEnd(70_000, 'x')))).toMatchObject({ status: 413, code: 'MESSAGE_TOO_LARGE' });
    expect(await errorOf(await post('/whip/bad%20room', 'v=0'))).toMatchObject({ status: 404, code: 'ROOM_NOT_FOUND' });
    const get = await fetch(`${http()}/whip/r1`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, OPTIONS');
    const options = await fetch(`${http()}/whip/r1`, { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('accept-post')).toBe('application/sdp');
    expect(options.headers.get('access-control-allow-origin')).toBe('*');
    const unknown = await fetch(`${http()}/whip/r1/nosuchsession`, { method: 'DELETE' });
    expect(await errorOf(unknown)).toMatchObject({ status: 404, code: 'PEER_NOT_FOUND' });
    // Nobody was left behind in the room by the refused offers.
    expect(ctx.server.rooms.get('r1')).toBeUndefined();
  });

  it('a mesh room refuses WHIP with 409 SFU_NOT_ENABLED, and nobody is left in it', async () => {
    const mesh = await startTestServer({ rtcBind: '127.0.0.1' });
    try {
      const whip = new WhipClient({ url: `${mesh.url}/whip/mesh-room`, peer: PEER });
      await expect(whip.start()).rejects.toThrow(/409 SFU_NOT_ENABLED.*mesh room/);
      await whip.stop();
      expect(mesh.rooms.size).toBe(0);
    } finally {
      await mesh.close();
    }
  });

  it('422 when the room refuses a section (a VP8 camera into an H264-only room: no half ingest), 503 when the room is full; nobody left behind', async () => {
    const h264Only = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1', videoCodecs: ['h264'] });
    try {
      const whip = new WhipClient({ url: `${h264Only.url}/whip/h264-room`, video: true, peer: PEER });
      await expect(whip.start()).rejects.toThrow(/WHIP endpoint refused \(422 CODEC_NOT_SUPPORTED\): video section 1 offers VP8; this room takes H264/);
      await whip.stop();
      expect(h264Only.rooms.get('h264-room')?.size ?? 0).toBe(0);
    } finally {
      await h264Only.close();
    }
    const created = await fetch(`${http()}/api/rooms`, { method: 'POST', body: JSON.stringify({ id: 'one-seat', topology: 'sfu', maxMembers: 1 }), headers: { 'content-type': 'application/json' } });
    expect(created.status).toBe(201);
    const first = new WhipClient({ url: `${http()}/whip/one-seat?name=First`, peer: PEER });
    await first.start();
    const second = new WhipClient({ url: `${http()}/whip/one-seat?name=Second`, peer: PEER });
    await expect(second.start()).rejects.toThrow(/WHIP endpoint refused \(503 ROOM_FULL\): room "one-seat" is full \(1 members\)/);
    await second.stop();
    expect(ctx.server.rooms.get('one-seat')?.participants().map((p) => p.name)).toEqual(['First']);
    await first.stop();
  });

  it('with auth on: a bearer token is checked like a join\'s; 401 for a bad one or one that may not publish', async () => {
    const secret = 'a-test-secret-of-at-least-32-bytes!!';
    const token = (claims: Record<string, unknown>) => handMadeJwt({ exp: Math.floor(Date.now() / 1000) + 600, ...claims }, secret);
    const auth = await startTestServer({ authSecret: secret, topology: 'sfu', rtcBind: '127.0.0.1' });
    try {
      const created = await fetch(`${auth.url}/api/rooms`, { method: 'POST', body: JSON.stringify({ id: 'studio' }), headers: { 'content-type': 'application/json', authorization: `Bearer ${token({ sub: 'root', roles: ['admin'] })}` } });
      expect(created.status).toBe(201);
      const refused = async (bearer: string) => {
        const whip = new WhipClient({ url: `${auth.url}/whip/studio`, token: bearer, peer: PEER });
        const err = await whip.start().then(() => undefined, (e: Error) => e.message);
        await whip.stop();
        return err;
      };
      expect(await refused(handMadeJwt({ sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 }, 'not-the-secret-but-as-long-as-it!!'))).toMatch(/401 UNAUTHORIZED/);
      expect(await refused(token({ sub: 'viewer', room: 'studio', publish: false }))).toMatch(/401 UNAUTHORIZED.*does not allow publishing/);
      expect(auth.rooms.get('studio')?.size).toBe(0);
      const whip = new WhipClient({ url: `${auth.url}/whip/studio`, token: token({ sub: 'obs', room: 'studio', name: 'Studio A' }), peer: PEER });
      await whip.start();
      expect(auth.rooms.get('studio')?.participants().map((p) => p.name)).toEqual(['Studio A']);
      expect(await whip.stop()).toBe(200);
    } finally {
      await auth.close();
    }
  });
});

