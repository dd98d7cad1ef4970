/**
 * Twilio Media Streams into a room (PROTOCOL.md "The PCM gateway": `/ws/twilio?room=`): a
 * caller written from Twilio's published message format (./twilio-caller.ts) joins an SFU
 * room as a `phone` participant next to a node-datachannel member, over real sockets on
 * loopback. Faults: bad frames get protocol errors while others in the room are unaffected.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dominantFrequency, toneShare } from '../../src/media/analysis.js';
import type { Participant } from '../../src/protocol/signaling.js';
import { until } from '../helpers/rtc.js';
import { startTestServer, useTestServer } from '../helpers/server.js';
import { mintToken } from '../../src/auth/tokens.js';
import { metric, sleep } from './pcm-harness.js';
import { frequencyOf, sfuMember, type SfuMember } from './sfu-helpers.js';
import { TwilioCaller } from './twilio-caller.js';

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });

const cleanup: Array<() => unknown> = [];
afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c(); });

async function dial(room: string): Promise<TwilioCaller> {
  const caller = await TwilioCaller.dial(ctx.server.url, room);
  cleanup.push(() => caller.close());
  return caller;
}

/** A WebRTC member playing `hz` that records who joins; stopped after the test. */
async function member(room: string, hz: number): Promise<SfuMember & { joined: Participant[]; left: string[] }> {
  const m = await sfuMember(ctx.server.wsUrl, room, 'webrtc', hz);
  cleanup.push(() => m.stop());
  const joined: Participant[] = [];
  const left: string[] = [];
  m.agent.on('participant-joined', (p) => joined.push(p));
  m.agent.on('participant-left', (p) => left.push(p.id));
  return { ...m, joined, left };
}

describe('Twilio Media Streams callers in rooms', () => {
  it('a caller and a WebRTC member hear each other; the caller gets µ-law media with its streamSid, 50 a second, never its own voice; stop leaves the room', async () => {
    const m = await member('tw-call', 440);
    const caller = await dial('tw-call');
    caller.start({ name: 'Reception' });
    caller.speak(1000);
    await until(() => m.joined.some((p) => p.role === 'phone'), 10_000, 'the caller listed');
    const phone = m.joined.find((p) => p.role === 'phone')!;
    expect(phone).toMatchObject({ name: 'Reception', audio: true });
    await until(() => (m.heard.get(phone.id)?.length ?? 0) >= 100, 10_000, 'the caller heard by the member');
    expect(Math.abs(frequencyOf(m.heard.get(phone.id)!.slice(-100)) - 1000)).toBeLessThanOrEqual(1);

    // What comes back: Twilio's media messages for this stream, 160 bytes (20 ms) each, paced.
    await until(() => caller.media.length >= 50, 10_000, 'media from callpeer');
    const from = caller.media.length;
    await sleep(2000);
    const got = caller.media.slice(from);
    expect(got.length).toBeGreaterThanOrEqual(90);
    expect(got.length).toBeLessThanOrEqual(110);
    expect(new Set(got.map((x) => x.streamSid))).toEqual(new Set([caller.streamSid]));
    expect(new Set(got.map((x) => x.payload.length))).toEqual(new Set([160]));
    expect(caller.messages.every((x) => x.event === 'media')).toBe(true);
    const mix = caller.heardSince(from);
    expect(Math.abs(dominantFrequency(mix, 8000) - 440)).toBeLessThanOrEqual(1);
    expect(toneShare(mix, 8000, 440)).toBeGreaterThan(0.5);
    expect(toneShare(mix, 8000, 1000)).toBeLessThan(0.01);

    // The room API lists it with its figures.
    const room = await (await fetch(`${ctx.server.url}/api/rooms/tw-call`)).json() as { participants: { id: string; gateway?: Record<string, number> }[] };
    expect(room.participants.find((p) => p.id === phone.id)!.gateway!.framesIn).toBeGreaterThan(100);
    expect(await metric(ctx.server, 'callpeer_ws_connections', { path: '/ws/twilio' })).toBe(1);

    // The call hangs up: `stop` takes it out of the room and closes the socket normally.
    caller.stop();
    expect(await caller.closed).toBe(1000);
    await until(() => m.left.includes(phone.id), 5000, 'the caller gone from the room');
  });

  it('the room from start.customParameters.room when the URL has none (as Twilio connects); a caller whose start names nobody is "Phone"', async () => {
    const viaParameter = await member('tw-param', 440);
    const caller0 = new TwilioCaller(ctx.server.url.replace(/^http/, 'ws') + '/ws/twilio');
    cleanup.push(() => caller0.close());
    await new Promise((r) => caller0.ws.once('open', r));
    caller0.start({ room: 'tw-param', name: 'By parameter' });
    await until(() => viaParameter.joined.some((p) => p.name === 'By parameter' && p.role === 'phone'), 10_000, 'the caller in the room named by its parameter');

    const m = await member('tw-named', 440);
    const caller = await dial('tw-named');
    caller.start({});
    await until(() => m.joined.some((p) => p.role === 'phone'), 10_000, 'the caller listed');
    expect(m.joined.find((p) => p.role === 'phone')!.name).toBe('Phone');
  });

  it('refuses a format other than µ-law 8 kHz mono, a room missing from the URL, and a malformed start, closing the stream', async () => {
    const wide = await dial('tw-format');
    wide.start({ name: 'x' }, { encoding: 'audio/x-l16', sampleRate: 16000, channels: 1 });
    expect(await wide.closed).toBe(1008);
    expect(wide.errors()).toEqual([{ event: 'error', code: 'CODEC_NOT_SUPPORTED', message: expect.stringMatching(/audio\/x-l16 16000 Hz.*only audio\/x-mulaw 8000 Hz mono/) }]);

    // Twilio strips query strings from a <Stream> URL: the room may come as a <Parameter>; with neither, the stream is refused.
    const noRoom = new TwilioCaller(ctx.server.url.replace(/^http/, 'ws') + '/ws/twilio');
    await new Promise((r) => noRoom.ws.once('open', r));
    noRoom.start({ name: 'x' });
    expect(await noRoom.closed).toBe(1008);
    expect(noRoom.errors()[0]).toMatchObject({ code: 'INVALID_MESSAGE', message: expect.stringMatching(/\/ws\/twilio\?room=<room> or a <Parameter name="room">/) });
    const badRoom = await TwilioCaller.dial(ctx.server.url, 'no spaces');
    expect(await badRoom.closed).toBe(1008);
    expect(badRoom.errors()[0]).toMatchObject({ code: 'INVALID_MESSAGE', message: expect.stringMatching(/room must match/) });

    const broken = await dial('tw-broken');
    broken.send(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid: 'MZ1', start: { streamSid: 'MZ1' } }));
    expect(await broken.closed).toBe(1008);
    expect(broken.errors()[0]).toMatchObject({ code: 'INVALID_MESSAGE' });
  });

  it('malformed JSON, bad base64, binary frames, media before start or for another stream: errors, the caller stays, nobody else is affected', async () => {
    const m = await member('tw-faults', 440);
    const good = await dial('tw-faults');
    good.start({ name: 'Good' });
    good.speak(1000);
    const bad = await dial('tw-faults');
    bad.send(JSON.stringify({ event: 'media', sequenceNumber: '1', streamSid: 'MZx', media: { track: 'inbound', chunk: '1', timestamp: '0', payload: '' } }));
    await bad.waitForError(1);
    expect(bad.errors()[0]).toMatchObject({ code: 'INVALID_MESSAGE', message: 'media before start' });
    bad.start({ name: 'Bad' });
    bad.speak(300);
    await until(() => m.joined.filter((p) => p.role === 'phone').length === 2, 10_000, 'both callers listed');
    bad.send('{"event":"media",');
    bad.send(JSON.stringify({ event: 'media', sequenceNumber: '9', streamSid: bad.streamSid, media: { track: 'inbound', chunk: '9', timestamp: '0', payload: '%%%not base64' } }));
    bad.send(JSON.stringify({ event: 'media', sequenceNumber: '9', streamSid: 'MZ-other', media: { track: 'inbound', chunk: '9', timestamp: '0', payload: '' } }));
    bad.ws.send(Buffer.alloc(320), { binary: true });
    await bad.waitForError(5);
    expect(bad.errors().slice(1).map((e) => [e.code, e.message])).toEqual([
      ['INVALID_MESSAGE', 'frame is not valid JSON'],
      ['INVALID_MESSAGE', 'media.payload: payload is not base64'],
      ['INVALID_MESSAGE', expect.stringMatching(/streamSid MZ-other is not this stream's/)],
      ['INVALID_MESSAGE', expect.stringMatching(/JSON text frames, not binary/)],
    ]);
    expect(bad.isOpen).toBe(true);
    expect(good.errors()).toEqual([]);
    // Both still heard in the room, each its own tone.
    const goodId = m.joined.find((p) => p.name === 'Good')!.id;
    const badId = m.joined.find((p) => p.name === 'Bad')!.id;
    const [g0, b0] = [m.heard.get(goodId)?.length ?? 0, m.heard.get(badId)?.length ?? 0];
    await until(() => (m.heard.get(goodId)?.length ?? 0) >= g0 + 50 && (m.heard.get(badId)?.length ?? 0) >= b0 + 50, 10_000, '1 s more of both callers');
    expect(Math.abs(frequencyOf(m.heard.get(goodId)!.slice(-50)) - 1000)).toBeLessThanOrEqual(1);
    expect(Math.abs(frequencyOf(m.heard.get(badId)!.slice(-50)) - 300)).toBeLessThanOrEqual(1);
  });

  it('a caller sending 10x real time: dropped past its budget and counted, told RATE_LIMITED; what reaches the room stays real time', async () => {
    const m = await member('tw-flood', 440);
    const flood = await dial('tw-flood');
    flood.start({ name: 'Flood' });
    await until(() => m.joined.some((p) => p.name === 'Flood'), 10_000, 'the caller listed');
    const id = m.joined.find((p) => p.name === 'Flood')!.id;
    const overrun0 = await metric(ctx.server, 'callpeer_pcm_overrun_frames_total');
    const heard0 = m.heard.get(id)?.length ?? 0;
    const t0 = Date.now();
    // 10 s of audio in 1 s: 500 chunks, 50 every 100 ms.
    const chunk = Buffer.alloc(160, 0x55);
    for (let i = 0; i < 10; i++) {
      for (let k = 0; k < 50; k++) flood.sendChunk(chunk);
      await sleep(100);
    }
    await flood.waitForError(1, 5000);
    expect(flood.errors()[0]).toMatchObject({ code: 'RATE_LIMITED' });
    const overrun = (await metric(ctx.server, 'callpeer_pcm_overrun_frames_total')) - overrun0;
    // The first 5 s (the burst allowance) plus real time is admitted; the rest is dropped and counted.
    expect(overrun).toBeGreaterThanOrEqual(150);
    expect(overrun).toBeLessThanOrEqual(250);
    // The room got what was admitted at the room's pace, 50 packets a second, never the burst
    // (6 s of audio was admitted in the first second: pushed straight on, that is 300 packets).
    await sleep(1000);
    const heard = (m.heard.get(id)?.length ?? 0) - heard0;
    expect(heard).toBeLessThanOrEqual(((Date.now() - t0) / 1000) * 50 + 10);
    const room = await (await fetch(`${ctx.server.url}/api/rooms/tw-flood`)).json() as { participants: { id: string; gateway?: Record<string, number> }[] };
    const stats = room.participants.find((p) => p.id === id)!.gateway!;
    expect(stats.queueMs).toBeLessThanOrEqual(200 + 200); // the play queue plus what the egress may hold
    expect(stats.droppedMs).toBeGreaterThan(3000);
  });

  it('the room deleted: the caller is out and its socket closed with 1000', async () => {
    const m = await member('tw-deleted', 440);
    const caller = await dial('tw-deleted');
    caller.start({ name: 'Desk' });
    await until(() => m.joined.some((p) => p.role === 'phone'), 10_000, 'the caller listed');
    expect((await fetch(`${ctx.server.url}/api/rooms/tw-deleted`, { method: 'DELETE' })).status).toBe(204);
    // As every member of a deleted room (PROTOCOL.md, DELETE /api/rooms/<id>): closed with 1000.
    expect(await caller.closed).toBe(1000);
    expect(caller.closeReason).toMatch(/room-closed|deleted/);
  });

  it('auth on: the token comes in start.customParameters.token; without one the stream is refused UNAUTHORIZED', async () => {
    const secret = 's'.repeat(40);
    const auth = await startTestServer({ authSecret: secret });
    cleanup.push(() => auth.close());
    // With auth on, an admin makes the room.
    const admin = { authorization: `Bearer ${await mintToken({ secret, identity: 'admin', room: '*', roles: ['admin'], ttlSeconds: 60 })}` };
    expect((await fetch(`${auth.url}/api/rooms`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'tw-auth' }) })).status).toBe(201);
    const anonymous = await TwilioCaller.dial(auth.url, 'tw-auth');
    cleanup.push(() => anonymous.close());
    anonymous.start({ name: 'Nobody' });
    expect(await anonymous.closed).toBe(1008);
    expect(anonymous.errors()[0]).toMatchObject({ code: 'UNAUTHORIZED' });
    const token = await mintToken({ secret, identity: 'desk', room: 'tw-auth', ttlSeconds: 60 });
    const admitted = await TwilioCaller.dial(auth.url, 'tw-auth');
    cleanup.push(() => admitted.close());
    admitted.start({ name: 'Desk', token });
    await until(() => admitted.media.length >= 10, 10_000, 'media for the admitted caller').catch((e) => { throw new Error(`${e.message}: ${JSON.stringify(admitted.messages)} close ${admitted.closeCode}`); });
    expect(admitted.errors()).toEqual([]);
    const room = await (await fetch(`${auth.url}/api/rooms/tw-auth`, { headers: admin })).json() as { participants: { name: string; role: string }[] };
    expect(room.participants).toMatchObject([{ name: 'Desk', role: 'phone' }]);
  });
});
