/**
 * The PCM gateway in SFU rooms (PROTOCOL.md "The PCM gateway"): a /ws/pcm?room= client is a
 * `phone` participant. Real clients: node-datachannel SfuAgents on loopback and raw ws PCM
 * clients sending real-time tones.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dominantFrequency } from '../../src/media/analysis.js';
import { ToneFrames } from '../../src/media/frames.js';
import { bytesToInt16, int16ToBytes } from '../../src/media/pcm.js';
import type { Participant } from '../../src/protocol/signaling.js';
import { until } from '../helpers/rtc.js';
import { useTestServer } from '../helpers/server.js';
import { PcmProbe } from './pcm-harness.js';
import { frequencyOf, sfuMember, type SfuMember } from './sfu-helpers.js';

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });

/** Sends a tone in real time (20 ms frames) until stopped. */
function speak(probe: PcmProbe, hz: number, rate: number): () => void {
  const tone = new ToneFrames(hz, rate);
  const timer = setInterval(() => { if (probe.isOpen) probe.sendAudio(Buffer.from(int16ToBytes(tone.nextFrame()!))); }, 20);
  return () => clearInterval(timer);
}

/** The PCM a probe received after `fromByte`, as samples. */
function heardSince(probe: PcmProbe, fromByte: number): Int16Array {
  return bytesToInt16(Buffer.concat(probe.audio).subarray(fromByte));
}

/** Level of `hz` in `pcm` relative to its total energy (Goertzel), 0..1. */
function share(pcm: Int16Array, rate: number, hz: number): number {
  const w = (2 * Math.PI * hz) / rate;
  let s1 = 0, s2 = 0, total = 0;
  for (const x of pcm) { const s0 = x + 2 * Math.cos(w) * s1 - s2; s2 = s1; s1 = s0; total += x * x; }
  const power = s1 * s1 + s2 * s2 - 2 * Math.cos(w) * s1 * s2;
  return total === 0 ? 0 : (2 * power) / (pcm.length * total);
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
    cleanup.push(speak(phone, 880, 16000));
    await until(() => (member.heard.get(phoneId)?.length ?? 0) >= 25, 10_000, 'the phone heard through the SFU');

    // The WebRTC member sees a phone participant and receives its microphone as Opus.
    await until(() => joined.some((p) => p.id === phoneId), 5000, 'phone participant listed');
    expect(joined.find((p) => p.id === phoneId)).toMatchObject({ role: 'phone', name: 'Desk phone', audio: true });
    await until(() => (member.heard.get(phoneId)?.length ?? 0) >= 100, 10_000, 'the phone heard through the SFU');
    expect(Math.abs(frequencyOf(member.heard.get(phoneId)!.slice(-100)) - 880)).toBeLessThanOrEqual(1);

    // The phone hears the member's tone at 16 kHz, and not its own.
    const from = phone.audioBytes;
    await until(() => phone.audioBytes - from >= 16000 * 2 * 2, 10_000, '2 s of mix');
    const mix = heardSince(phone, from);
    expect(Math.abs(dominantFrequency(mix, 16000) - 440)).toBeLessThanOrEqual(1);
    expect(share(mix, 16000, 880)).toBeLessThan(0.01);
    expect(share(mix, 16000, 440)).toBeGreaterThan(0.5);
  });

  it('two PCM clients in one room hear each other through the mix; the room lists both; leaving says peer-left', async () => {
    const a = await PcmProbe.open(ctx.server, { room: 'gw-pair', rate: '8000' });
    const b = await PcmProbe.open(ctx.server, { room: 'gw-pair', rate: '48000' });
    cleanup.push(() => a.close(), () => b.close());
    await a.waitFor('connected');
    await b.waitFor('connected');
    await a.waitFor('peer-joined');
    expect(a.last('peer-joined').participant).toMatchObject({ id: b.last('connected').id, role: 'phone' });
    cleanup.push(speak(a, 300, 8000), speak(b, 1000, 48000));
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

  it('refusals: room and pair together, a bad room id, a mesh room', async () => {
    const both = await PcmProbe.open(ctx.server, { room: 'x', pair: 'y' });
    expect(await both.closed).toBe(1008);
    expect(both.last('error')).toMatchObject({ code: 'INVALID_MESSAGE' });
    const bad = await PcmProbe.open(ctx.server, { room: 'no spaces' });
    await bad.closed;
    expect(bad.last('error')).toMatchObject({ code: 'INVALID_MESSAGE' });
    // The room API (loopback, auth off) makes a mesh room in this SFU server.
    expect((await fetch(`${ctx.server.url}/api/rooms`, { method: 'POST', body: JSON.stringify({ id: 'gw-mesh', topology: 'mesh' }) })).status).toBe(201);
    const mesh = await PcmProbe.open(ctx.server, { room: 'gw-mesh' });
    await mesh.closed;
    expect(mesh.last('error')).toMatchObject({ code: 'SFU_NOT_ENABLED' });
    expect(mesh.count('connected')).toBe(0);
  });
});
