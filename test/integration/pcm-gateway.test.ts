/**
 * The PCM gateway (PROTOCOL.md "The PCM gateway"): a /ws/pcm?room= client is a `phone`
 * participant of an SFU or a mesh room. Real clients: node-datachannel agents on loopback and
 * raw ws PCM clients sending real-time tones.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dominantFrequency, toneShare } from '../../src/media/analysis.js';
import { bytesToInt16 } from '../../src/media/pcm.js';
import type { Participant } from '../../src/protocol/signaling.js';
import { until } from '../helpers/rtc.js';
import { useTestServer } from '../helpers/server.js';
import { PcmProbe } from './pcm-harness.js';
import { meshMember } from './mesh-helpers.js';
import type { MeshAgent } from '../../src/client/mesh-agent.js';
import { frequencyOf, sfuMember, type SfuMember } from './sfu-helpers.js';

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });


/** The PCM a probe received after `fromByte`, as samples. */
function heardSince(probe: PcmProbe, fromByte: number): Int16Array {
  return bytesToInt16(Buffer.concat(probe.audio).subarray(fromByte));
}

/**
 * A WebRTC member that plays `memberHz` and a PCM client at `rate` that plays `phoneHz` hear
 * each other: the member gets the phone's tone over RTP, the phone the member's in its mix and
 * not its own. Returns 2 s of the phone's mix.
 */
async function heardBothWays(heard: Map<string, Buffer[]>, phone: PcmProbe, phoneId: string, o: { memberHz: number; phoneHz: number; rate: number }): Promise<Int16Array> {
  await until(() => (heard.get(phoneId)?.length ?? 0) >= 100, 10_000, 'the phone heard by the member');
  expect(Math.abs(frequencyOf(heard.get(phoneId)!.slice(-100)) - o.phoneHz)).toBeLessThanOrEqual(1);
  const from = phone.audioBytes;
  await until(() => phone.audioBytes - from >= o.rate * 2 * 2, 10_000, '2 s of mix');
  const mix = heardSince(phone, from);
  expect(Math.abs(dominantFrequency(mix, o.rate) - o.memberHz)).toBeLessThanOrEqual(1);
  expect(toneShare(mix, o.rate, o.phoneHz)).toBeLessThan(0.01);
  return mix;
}

const cleanup: Array<() => unknown> = [];
afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c(); });

describe('PCM clients in SFU rooms', () => {
  it('a 16 kHz PCM client and a WebRTC member hear each other, the client never itself', async () => {
    const member: SfuMember = await sfuMember(ctx.server.wsUrl, 'gw-two', 'webrtc', 440);
    cleanup.push(() => member.stop());
    const joined: Participant[] = [];
    member.agent.on('participant-joined', (p) => joined.push(p));
    const phone = await PcmProbe.open(ctx.server, { room: 'gw-two', rate: '16000', name: 'Desk phone' });
    cleanup.push(() => phone.close());
    await phone.waitFor('connected');
    expect(phone.last('connected')).toMatchObject({ codec: 'pcm', sampleRate: 16000, channels: 1, frameMs: 20, room: 'gw-two' });
    const phoneId = phone.last('connected').id as string;
    cleanup.push(phone.speak(880, 16000));
    await until(() => (member.heard.get(phoneId)?.length ?? 0) >= 25, 10_000, 'the phone heard through the SFU');

    // The WebRTC member sees a phone participant and receives its microphone as Opus.
    await until(() => joined.some((p) => p.id === phoneId), 5000, 'phone participant listed');
    expect(joined.find((p) => p.id === phoneId)).toMatchObject({ role: 'phone', name: 'Desk phone', audio: true });
    // It hears the phone; the phone hears it at 16 kHz, and not itself.
    const mix = await heardBothWays(member.heard, phone, phoneId, { memberHz: 440, phoneHz: 880, rate: 16000 });
    expect(toneShare(mix, 16000, 440)).toBeGreaterThan(0.5);

    // Its figures: in the room API with the participant, and on /metrics.
    const room = await (await fetch(`${ctx.server.url}/api/rooms/gw-two`)).json() as { participants: { id: string; role: string; gateway?: Record<string, number> }[] };
    const stats = room.participants.find((p) => p.id === phoneId)!.gateway!;
    expect(stats.framesIn).toBeGreaterThan(100);
    expect(stats.framesOut).toBeGreaterThan(100);
    expect(stats.queueMs).toBeLessThanOrEqual(200);
    expect(stats.droppedMs).toBe(0);
    expect(room.participants.find((p) => p.role !== 'phone')!.gateway).toBeUndefined();
    const metrics = await (await fetch(`${ctx.server.url}/metrics`)).text();
    expect(metrics).toMatch(/^callpeer_gateway_legs 1$/m);
    expect(Number(/^callpeer_gateway_frames_total\{direction="out"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(100);
  });

  it('two PCM clients in one room hear each other through the mix; the room lists both; leaving says peer-left', async () => {
    const a = await PcmProbe.open(ctx.server, { room: 'gw-pair', rate: '8000' });
    const b = await PcmProbe.open(ctx.server, { room: 'gw-pair', rate: '48000' });
    cleanup.push(() => a.close(), () => b.close());
    await a.waitFor('connected');
    await b.waitFor('connected');
    await a.waitFor('peer-joined');
    expect(a.last('peer-joined').participant).toMatchObject({ id: b.last('connected').id, role: 'phone' });
    cleanup.push(a.speak(300, 8000), b.speak(1000, 48000));
    await new Promise((r) => setTimeout(r, 500)); // each hears the other from here on
    const [fromA, fromB] = [a.audioBytes, b.audioBytes];
    await until(() => a.audioBytes - fromA >= 8000 * 2 * 2 && b.audioBytes - fromB >= 48000 * 2 * 2, 10_000, '2 s of mix each');
    expect(Math.abs(dominantFrequency(heardSince(a, fromA), 8000) - 1000)).toBeLessThanOrEqual(1);
    expect(Math.abs(dominantFrequency(heardSince(b, fromB), 48000) - 300)).toBeLessThanOrEqual(1);
    // Paced in real time: about 50 frames a second, not a burst.
    const frames0 = b.audio.length;
    await new Promise((r) => setTimeout(r, 1000));
    expect(b.audio.length - frames0).toBeGreaterThanOrEqual(45);
    expect(b.audio.length - frames0).toBeLessThanOrEqual(55);
    b.close();
    await a.waitFor('peer-left');
    expect(a.last('peer-left')).toEqual({ type: 'peer-left', id: b.last('connected').id });
  });

  it('refusals: room and pair together, a bad room id', async () => {
    const both = await PcmProbe.open(ctx.server, { room: 'x', pair: 'y' });
    expect(await both.closed).toBe(1008);
    expect(both.last('error')).toMatchObject({ code: 'INVALID_MESSAGE' });
    const bad = await PcmProbe.open(ctx.server, { room: 'no spaces' });
    await bad.closed;
    expect(bad.last('error')).toMatchObject({ code: 'INVALID_MESSAGE' });

  });
});


describe('PCM clients in mesh rooms', () => {
  it('a Node mesh member and a 16 kHz PCM client hear each other, whoever joins first; two PCM clients hear each other too', async () => {
    // The room API (loopback, auth off) makes a mesh room in this SFU server.
    expect((await fetch(`${ctx.server.url}/api/rooms`, { method: 'POST', body: JSON.stringify({ id: 'gw-mesh', topology: 'mesh' }) })).status).toBe(201);
    const phone = await PcmProbe.open(ctx.server, { room: 'gw-mesh', rate: '16000', name: 'Phone' });
    cleanup.push(() => phone.close());
    await phone.waitFor('connected');
    const phoneId = phone.last('connected').id as string;
    cleanup.push(phone.speak(880, 16000));
    // The member joins after the phone: it offers to the phone's server-side link.
    const member = await meshMember(ctx.server.wsUrl, 'gw-mesh', 'node', 440);
    cleanup.push(() => member.stop());
    await heardBothWays(member.heard, phone, phoneId, { memberHz: 440, phoneHz: 880, rate: 16000 });

    // The member's connection to the phone fails on its side: it offers a new one (new ICE
    // credentials) and the gateway replaces its link; the phone is heard again.
    const mesh = member.agent as MeshAgent;
    const link = mesh.peers().find((r) => r.participant.id === phoneId)!;
    link.peer.close('failed');
    await until(() => mesh.peers().some((r) => r.participant.id === phoneId && r.peer !== link.peer && r.peer.connected), 10_000, 'a new link to the phone');
    const old = member.heard.get(phoneId)!;
    const before = old.length;
    await until(() => { const now = member.heard.get(phoneId)!; return now === old ? now.length >= before + 50 : now.length >= 50; }, 10_000, 'the phone heard on the new link');

    // A second phone joins after the member: its link offers to the member; it hears both.
    const second = await PcmProbe.open(ctx.server, { room: 'gw-mesh', rate: '8000' });
    cleanup.push(() => second.close());
    await second.waitFor('connected');
    const secondId = second.last('connected').id as string;
    cleanup.push(second.speak(300, 8000));
    await until(() => (member.heard.get(secondId)?.length ?? 0) >= 100, 10_000, 'the second phone heard by the member');
    expect(Math.abs(frequencyOf(member.heard.get(secondId)!.slice(-100)) - 300)).toBeLessThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 500));
    const from2 = second.audioBytes;
    await until(() => second.audioBytes - from2 >= 8000 * 2 * 2, 10_000, '2 s of mix for the second phone');
    const mix2 = heardSince(second, from2);
    expect(toneShare(mix2, 8000, 440)).toBeGreaterThan(0.1);
    expect(toneShare(mix2, 8000, 880)).toBeGreaterThan(0.1);
    expect(toneShare(mix2, 8000, 300)).toBeLessThan(0.01);
  });
});
