/**
 * The bridge (`callpeer bridge` as a library, PROTOCOL.md "The PCM gateway"): a room connected
 * to a voice agent's media WebSocket in Twilio's dialect. The agent is written in the test from
 * Twilio's message format (./twilio-agent.ts); the room has a node-datachannel member on loopback.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { Bridge } from '../../src/bots/bridge/bridge.js';
import { dominantFrequency } from '../../src/media/analysis.js';
import { mulawDecode } from '../../src/media/g711.js';
import { bytesToInt16 } from '../../src/media/pcm.js';
import type { Participant } from '../../src/protocol/signaling.js';
import { until } from '../helpers/rtc.js';
import { useTestServer } from '../helpers/server.js';
import { sleep } from './pcm-harness.js';
import { frequencyOf, PEER, sfuMember, type SfuMember } from './sfu-helpers.js';
import { TwilioAgent, type AgentStream } from './twilio-agent.js';

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });
const cleanup: Array<() => unknown> = [];
afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c(); });

async function agent(): Promise<TwilioAgent> {
  const a = await TwilioAgent.listen();
  cleanup.push(() => a.close());
  return a;
}

/** A room member playing `hz` (none: silent) that notes when each packet of each publisher arrived. */
async function member(room: string, hz: number | undefined): Promise<SfuMember & { joined: Participant[]; left: string[]; arrivals: Map<string, number[]> }> {
  const m = await sfuMember(ctx.server.wsUrl, room, 'member', hz);
  cleanup.push(() => m.stop());
  const joined: Participant[] = [];
  const left: string[] = [];
  const arrivals = new Map<string, number[]>();
  m.agent.on('participant-joined', (p) => joined.push(p));
  m.agent.on('participant-left', (p) => left.push(p.id));
  m.agent.on('track', (publisher, track) => {
    if (track.kind !== 'audio') return;
    const times: number[] = [];
    arrivals.set(publisher, times);
    const keep = track.onRtp;
    track.onRtp = (p) => { keep?.(p); times.push(Date.now()); };
  });
  return { ...m, joined, left, arrivals };
}

async function bridge(room: string, to: string, options: Partial<ConstructorParameters<typeof Bridge>[0]> = {}): Promise<Bridge> {
  const b = new Bridge({ wsUrl: ctx.server.wsUrl, room, to, dialect: 'twilio', peer: PEER, ...options });
  cleanup.push(() => b.close());
  await b.start();
  return b;
}

const bridgeIn = (m: { joined: Participant[] }) => m.joined.find((p) => p.role === 'bot')?.id;

describe('callpeer bridge, twilio dialect', () => {
  it('streams the room to the agent as Twilio does, and what an echo agent sends back is heard in the room', async () => {
    const a = await agent();
    a.echo = true;
    const m = await member('br-echo', 440);
    await bridge('br-echo', a.url, { customParameters: { caller: 'test' } });
    const s = a.last;
    // connected, then start with a streamSid and our parameters (the room's name added).
    expect(s.messages[0]!.m).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(s.messages[1]!.m).toMatchObject({ event: 'start', sequenceNumber: '1', streamSid: s.streamSid, start: { tracks: ['inbound'], customParameters: { caller: 'test', room: 'br-echo' }, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } });
    expect(s.streamSid).toMatch(/^MZ[0-9a-f]{32}$/);
    // media: 50 a second, 160 bytes of µ-law each, carrying the member's tone.
    await until(() => a.events(s, 'media').length >= 100, 10_000, '2 s of media at the agent');
    const from = a.events(s, 'media').length;
    await sleep(1000);
    const media = a.events(s, 'media').slice(from);
    expect(media.length).toBeGreaterThanOrEqual(45);
    expect(media.length).toBeLessThanOrEqual(55);
    expect(media.every((x, i) => x.streamSid === s.streamSid && x.media.track === 'inbound' && Number(x.sequenceNumber) === Number(media[0].sequenceNumber) + i)).toBe(true);
    const heard = mulawDecode(Buffer.concat(media.map((x) => Buffer.from(x.media.payload, 'base64'))));
    expect(heard.length).toBe(media.length * 160);
    expect(Math.abs(dominantFrequency(heard, 8000) - 440)).toBeLessThanOrEqual(1);
    // The echo comes back into the room from the bridge (a bot): the member hears its own tone.
    await until(() => bridgeIn(m) !== undefined, 5000, 'the bridge listed');
    const id = bridgeIn(m)!;
    expect(m.joined.find((p) => p.id === id)).toMatchObject({ name: 'callpeer bridge', role: 'bot' });
    await until(() => (m.heard.get(id)?.length ?? 0) >= 100, 10_000, 'the echo heard in the room');
    expect(Math.abs(frequencyOf(m.heard.get(id)!.slice(-100)) - 440)).toBeLessThanOrEqual(1);
  });

  it('clear in the middle of a long utterance stops playback in the room within 60 ms; marks come back in order, cleared ones told apart', async () => {
    const a = await agent();
    const m = await member('br-clear', undefined);
    const b = await bridge('br-clear', a.url);
    const answered: { name: string; cleared: boolean }[] = [];
    b.on('mark', (x) => answered.push(x));
    const s = a.last;
    await until(() => bridgeIn(m) !== undefined, 5000, 'the bridge listed');
    const id = bridgeIn(m)!;
    // 300 ms, mark one, 300 ms, mark two, then 10 s of speech, mark three, mark four: all at once.
    const t0 = Date.now();
    a.say(s, 600, 300);
    a.mark(s, 'one');
    a.say(s, 600, 300);
    a.mark(s, 'two');
    a.say(s, 600, 10_000);
    a.mark(s, 'three');
    a.mark(s, 'four');
    await until(() => a.events(s, 'mark').length >= 2, 5000, 'marks one and two');
    const marks = () => s.messages.filter((x) => x.m.event === 'mark');
    // Played, in order, each when the audio before it had played (about 300 and 600 ms in).
    expect(marks().map((x) => x.m.mark)).toEqual([{ name: 'one' }, { name: 'two' }]);
    expect(marks()[0]!.at - t0).toBeGreaterThanOrEqual(250);
    expect(marks()[1]!.at - marks()[0]!.at).toBeGreaterThanOrEqual(250);
    // The room hears the agent's 600 Hz while it speaks.
    await until(() => (m.heard.get(id)?.length ?? 0) >= 75, 5000, 'the agent heard in the room');
    expect(Math.abs(frequencyOf(m.heard.get(id)!.slice(-50)) - 600)).toBeLessThanOrEqual(1);
    await sleep(500);
    // Barge-in: clear. The room stops hearing the bridge at once (it sends nothing when it has nothing to say).
    const times = m.arrivals.get(id)!;
    const tClear = Date.now();
    a.clear(s);
    await sleep(500);
    const last = times.at(-1)!;
    expect(times.length).toBeGreaterThan(50);
    console.log(`clear: last packet in the room ${last - tClear} ms after it; marks played at ${marks()[0]!.at - t0} and ${marks()[1]!.at - t0} ms`);
    expect(last - tClear, `last packet ${last - tClear} ms after clear`).toBeLessThanOrEqual(60);
    // three and four are answered at once, in order, cleared; sequence numbers keep rising.
    expect(marks().map((x) => x.m.mark)).toEqual([{ name: 'one' }, { name: 'two' }, { name: 'three', cleared: true }, { name: 'four', cleared: true }]);
    expect(marks()[2]!.at - tClear).toBeLessThanOrEqual(100);
    const seqs = s.messages.filter((x) => x.m.sequenceNumber !== undefined).map((x) => Number(x.m.sequenceNumber));
    expect(seqs.every((n, i) => i === 0 || n === seqs[i - 1]! + 1)).toBe(true);
    expect(answered).toEqual([{ name: 'one', cleared: false }, { name: 'two', cleared: false }, { name: 'three', cleared: true }, { name: 'four', cleared: true }]);
    // A mark with nothing queued before it is answered at once, as played.
    a.mark(s, 'idle');
    await until(() => marks().length === 5, 2000, 'the idle mark');
    expect(marks()[4]!.m.mark).toEqual({ name: 'idle' });
    expect(b.stats()).toMatchObject({ queuedMs: 0, refused: 0 });
  });

  it('the agent socket drops: the bridge dials again as a new stream; the agent closes with 1000: the bridge stops and leaves the room', async () => {
    const a = await agent();
    const m = await member('br-drop', 440);
    const b = await bridge('br-drop', a.url, { redialDelaysMs: [100, 200, 400] });
    await until(() => bridgeIn(m) !== undefined, 5000, 'the bridge listed');
    const first = a.last;
    first.ws.terminate();
    await until(() => a.streams.length === 2 && a.last.streamSid !== undefined, 5000, 'a second stream');
    const second = a.last;
    expect(second.streamSid).not.toBe(first.streamSid);
    expect(second.messages[0]!.m.event).toBe('connected');
    await until(() => a.events(second, 'media').length >= 10, 5000, 'media on the new stream');
    const closed = new Promise<string>((r) => b.once('closed', ({ reason }) => r(reason)));
    second.ws.close(1000);
    expect(await closed).toBe('agent-ended');
    await until(() => m.left.includes(bridgeIn(m)!), 5000, 'the bridge gone from the room');
  });

  it('the agent drops and stays unreachable: after the redials fail, the bridge leaves the room (agent-lost)', async () => {
    const a = await agent();
    const m = await member('br-lost', 440);
    const b = await bridge('br-lost', a.url, { redialDelaysMs: [50, 50, 50] });
    await until(() => bridgeIn(m) !== undefined, 5000, 'the bridge listed');
    const closed = new Promise<string>((r) => b.once('closed', ({ reason }) => r(reason)));
    await a.close(); // terminates the stream and stops listening: every redial is refused
    expect(await closed).toBe('agent-lost');
    await until(() => m.left.includes(bridgeIn(m)!), 5000, 'the bridge gone from the room');
  });

  it('an agent that cannot be reached fails the start with CONNECTION_FAILED, before joining the room; a room deleted ends the stream with stop', async () => {
    const nowhere = new Bridge({ wsUrl: ctx.server.wsUrl, room: 'br-nowhere', to: 'ws://127.0.0.1:9/media', dialect: 'twilio', peer: PEER });
    await expect(nowhere.start()).rejects.toMatchObject({ code: 'CONNECTION_FAILED', message: expect.stringMatching(/could not reach the agent at ws:\/\/127\.0\.0\.1:9\/media/) });
    expect((await fetch(`${ctx.server.url}/api/rooms/br-nowhere`)).status).toBe(404);

    const a = await agent();
    const b = await bridge('br-deleted', a.url);
    const s: AgentStream = a.last;
    const closed = new Promise<string>((r) => b.once('closed', ({ reason }) => r(reason)));
    expect((await fetch(`${ctx.server.url}/api/rooms/br-deleted`, { method: 'DELETE' })).status).toBe(204);
    expect(await closed).toBe('removed');
    await until(() => s.closed, 5000, 'the agent socket closed');
    expect(s.messages.at(-1)!.m).toMatchObject({ event: 'stop', streamSid: s.streamSid, stop: { callSid: s.start.callSid, accountSid: s.start.accountSid } });
  });
});

describe('callpeer bridge, raw dialect', () => {
  it('sends the mix as binary 16-bit PCM at --rate, 20 ms frames in real time, and plays what the agent sends back', async () => {
    // An echo agent of the raw dialect: every binary frame straight back.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    cleanup.push(() => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }));
    const frames: { bytes: Buffer; at: number }[] = [];
    wss.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return;
      frames.push({ bytes: data, at: Date.now() });
      ws.send(data, { binary: true });
    }));
    const m = await member('br-raw', 440);
    await bridge('br-raw', `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/pcm`, { dialect: 'raw', rate: 16000 });
    await until(() => frames.length >= 100, 10_000, '2 s of PCM at the agent');
    const from = frames.length;
    await sleep(1000);
    const second = frames.slice(from);
    expect(second.length).toBeGreaterThanOrEqual(45);
    expect(second.length).toBeLessThanOrEqual(55);
    // 20 ms at 16 kHz is 320 samples; the resampler's output may differ by one in a frame.
    expect(second.every((f) => Math.abs(f.bytes.length - 640) <= 2 && f.bytes.length % 2 === 0)).toBe(true);
    expect(Math.abs(dominantFrequency(bytesToInt16(Buffer.concat(second.map((f) => f.bytes))), 16000) - 440)).toBeLessThanOrEqual(1);
    await until(() => bridgeIn(m) !== undefined, 5000, 'the bridge listed');
    const id = bridgeIn(m)!;
    await until(() => (m.heard.get(id)?.length ?? 0) >= 100, 10_000, 'the echo heard in the room');
    expect(Math.abs(frequencyOf(m.heard.get(id)!.slice(-100)) - 440)).toBeLessThanOrEqual(1);
  });
});
