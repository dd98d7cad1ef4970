/**
 * The server's endpoints under generated frames, the server in its own process (`callpeer
 * serve`, as users run it): /ws in mesh and SFU rooms (every message type broken every way,
 * damaged SDP offers relayed to a member and offered to the SFU, frames at and over the size
 * limits, invalid UTF-8), /ws/pcm (odd lengths, empty, 1 MiB, text, bad query strings),
 * /ws/twilio, the room API's bodies and WHIP and WHEP (POST offers, PATCH fragments). Then: the process still runs, logged no error, a
 * clean client is served correctly at once, and its memory stayed within a stated bound.
 *
 * `npm test`: 1,500 frames per endpoint, seeded. `npm run fuzz`: 100,000 (FUZZ_FRAMES).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { isWireErrorCode } from '../../src/errors.js';
import { CLOSE_INVALID_PAYLOAD, CLOSE_POLICY, CLOSE_TOO_BIG } from '../../src/protocol/close-codes.js';
import { parsePcmServerMessage } from '../../src/protocol/pcm.js';
import { parseServerMessage } from '../../src/protocol/signaling.js';
import { parseTwilioOutbound } from '../../src/protocol/twilio.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { WhepClient } from '../../src/client/whep-client.js';
import { WhipClient } from '../../src/client/whip-client.js';
import { isRtcp } from '../../src/media/rtp.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { startCli } from '../helpers/cli.js';
import { frequencyOf, PEER, sfuMember } from '../integration/sfu-helpers.js';
import { damagedOffer, hostileFrame, PCM_SAMPLES, SIGNALING_SAMPLES, TWILIO_SAMPLES } from './corpus.js';
import { fuzzEndpoint, nextMessage, type Frame, type FuzzReport, type FuzzTarget } from './endpoint-fuzzer.js';
import { FRAMES, LONG, SEED } from './fuzz-config.js';

const WORKERS = 16;
/** Between one connection's frames: under the 50 messages/s rate limit, so the parser sees them. */
const GAP_MS = 22;
/** Growth of the server's RSS over one endpoint's run that counts as a leak (see docs/reliability.md). */
const RSS_BOUND_MB = 64;
const TIMEOUT = LONG ? 3_600_000 : 120_000;

let server: Awaited<ReturnType<typeof startCli>>;
let base: string;
let pid: number;

const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

beforeAll(async () => {
  server = await startCli(['serve', '--host', '127.0.0.1', '--port', '0', '--rtc-bind', '127.0.0.1', '--max-members', '8'], /callpeer listening/, { timeoutMs: 20_000 });
  base = JSON.parse(server.output().split('\n').find((l) => l.includes('callpeer listening'))!).url as string;
  pid = server.child.pid!;
}, 30_000);

afterAll(async () => {
  server.child.kill('SIGTERM');
  await server.exited;
  cleanupRtc();
});

/** Error-level lines the server logged (pino level >= 50): a handler failed, an upgrade threw. */
function serverErrors(): string[] {
  return server.output().split('\n').filter((l) => /"level":(5|6)\d/.test(l));
}

const text = (data: string): Frame => ({ data, binary: false });
const wsUrl = (path: string) => `${base.replace(/^http/, 'ws')}${path}`;

function checkSignaling(t: string): void {
  const m = parseServerMessage(t);
  if (m.type === 'error' && m.code === 'INTERNAL') throw new Error('INTERNAL error');
}

/** Joins `room`; the sample frames' placeholder peer id "p1" becomes the partner's real id once it is known. */
async function joinRoom(ws: WebSocket, room: string): Promise<Map<string, string>> {
  const subs = new Map<string, string>();
  ws.on('message', (d, binary) => {
    if (binary) return;
    const m = JSON.parse(d.toString()) as { type: string; participant?: { id: string } };
    if (m.type === 'peer-joined' && m.participant) subs.set('"p1', `"${m.participant.id}`);
  });
  ws.send(JSON.stringify({ type: 'join', room, name: 'fuzz' }));
  const joined = await nextMessage(ws, ['joined', 'error']);
  const other = (joined.participants as { id: string }[] | undefined)?.[0];
  if (other) subs.set('"p1', `"${other.id}`);
  return subs;
}

const signalingFrames: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 40, arbitrary: hostileFrame(SIGNALING_SAMPLES).map(text) },
  { weight: 10, arbitrary: fc.tuple(damagedOffer, fc.boolean()).map(([sdp, toPeer]) => text(JSON.stringify(toPeer ? { type: 'offer', to: 'p1', sdp } : { type: 'offer', sdp }))) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ data: Buffer.from(b), binary: true })) },
  // A text frame that is not UTF-8: the ws layer closes 1007 (rare: it ends the connection).
  { weight: 1, arbitrary: fc.constant({ data: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), binary: false }) },
);

/** Frames at and over /ws's limits: 64 KiB (MESSAGE_TOO_LARGE past it), 1 MiB (the socket closes 1009 past it). */
const SIGNALING_LIMITS: Frame[] = [
  text(JSON.stringify({ type: 'chat', text: 'x'.repeat(64 * 1024 - 26) })),
  text(JSON.stringify({ type: 'chat', text: 'x'.repeat(64 * 1024) })),
  text(JSON.stringify({ type: 'chat', text: 'x'.repeat(1024 * 1024) })),
];

const SIGNALING_CLOSES = [CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_INVALID_PAYLOAD];

async function run(target: FuzzTarget, first: Frame[] = []): Promise<FuzzReport> {
  const before = rssMb();
  const report = await fuzzEndpoint(target, { total: FRAMES, workers: WORKERS, gapMs: GAP_MS, seed: SEED, first });
  const after = rssMb();
  console.log(JSON.stringify({ ...report, rssMb: { before: Math.round(before), after: Math.round(after) } }));
  expect(report.violations).toEqual([]);
  expect(report.sent).toBeGreaterThanOrEqual(FRAMES);
  expect(server.child.exitCode).toBeNull();
  expect(serverErrors()).toEqual([]);
  expect(after - before).toBeLessThan(RSS_BOUND_MB);
  return report;
}

describe('fuzzing the endpoints of a running server', () => {
  it('/ws in mesh rooms: refusals are protocol errors, then two clean members chat', async () => {
    const report = await run({
      url: () => wsUrl('/ws'),
      // Workers 2k and 2k+1 share a room: relayed offers, answers and candidates reach a member.
      setup: (ws, w) => joinRoom(ws, `fuzz-mesh-${w >> 1}`),
      frames: signalingFrames,
      checkText: checkSignaling,
      binaryAllowed: false,
      closeCodes: SIGNALING_CLOSES,
    }, SIGNALING_LIMITS);
    expect(report.answers['error:INVALID_MESSAGE']).toBeGreaterThan(0);
    expect(report.answers['error:MESSAGE_TOO_LARGE']).toBeGreaterThan(0);
    expect(report.closes[CLOSE_TOO_BIG]).toBeGreaterThan(0);
    expect(report.closes[CLOSE_INVALID_PAYLOAD]).toBeGreaterThan(0);
    expect(report.answers.offer).toBeGreaterThan(0); // damaged offers relayed to the partner

    const [a, b] = [new WebSocket(wsUrl('/ws')), new WebSocket(wsUrl('/ws'))];
    await Promise.all([a, b].map((ws) => new Promise((r) => ws.once('open', r))));
    await joinRoom(a, 'after-mesh');
    await joinRoom(b, 'after-mesh');
    const line = nextMessage(b, ['chat']);
    a.send(JSON.stringify({ type: 'chat', text: 'still here' }));
    expect((await line).text).toBe('still here');
    a.close();
    b.close();
  }, TIMEOUT);

  it('/ws in SFU rooms: damaged offers to the server are refused, then two clean members hear each other', async () => {
    const rooms = Array.from({ length: WORKERS / 2 }, (_, i) => `fuzz-sfu-${i}`);
    for (const id of [...rooms, 'after-sfu']) {
      const res = await fetch(`${base}/api/rooms`, { method: 'POST', body: JSON.stringify({ id, topology: 'sfu' }), headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(201);
    }
    const report = await run({
      url: () => wsUrl('/ws'),
      setup: (ws, w) => joinRoom(ws, rooms[w >> 1]!),
      frames: signalingFrames,
      checkText: checkSignaling,
      binaryAllowed: false,
      closeCodes: SIGNALING_CLOSES,
    });
    expect(report.answers['error:INVALID_SDP'] ?? 0).toBeGreaterThan(0);

    const ws = wsUrl('/ws');
    const [a, b] = await Promise.all([sfuMember(ws, 'after-sfu', 'a', 440), sfuMember(ws, 'after-sfu', 'b', 880)]);
    await expect.poll(() => (a.heard.get(b.agent.id!)?.length ?? 0) > 50 && (b.heard.get(a.agent.id!)?.length ?? 0) > 50, { timeout: 15_000 }).toBe(true);
    expect(frequencyOf(a.heard.get(b.agent.id!)!)).toBeCloseTo(880, -1);
    expect(frequencyOf(b.heard.get(a.agent.id!)!)).toBeCloseTo(440, -1);
    await Promise.all([a.stop(), b.stop()]);
  }, TIMEOUT);

  it('/ws/pcm: odd, empty and oversized frames, text and bad query strings, then a clean pair relays byte for byte', async () => {
    const query = fc.sample(fc.oneof(
      { weight: 4, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('codec', 'rate', 'pair', 'room', 'name', 'x'), fc.string({ unit: 'binary', maxLength: 40 })).map((q) => `&${new URLSearchParams(q)}`) },
    ), { numRuns: 64, seed: SEED });
    let connects = 0;
    const frames: fc.Arbitrary<Frame> = fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: 2000 }).map((n) => ({ data: Buffer.alloc(n, n & 0xff), binary: true })) },
      { weight: 1, arbitrary: fc.constantFrom(0, 1, 641, 1024 * 1024, 1024 * 1024 + 1).map((n) => ({ data: Buffer.alloc(n), binary: true })) },
      { weight: 3, arbitrary: hostileFrame(PCM_SAMPLES).map(text) },
    );
    const report = await run({
      url: (w) => wsUrl(`/ws/pcm?pair=fuzz${w >> 1}${query[connects++ % query.length]}`),
      frames,
      checkText: (t) => {
        const m = parsePcmServerMessage(t);
        if (m.type === 'error' && m.code === 'INTERNAL') throw new Error('INTERNAL error');
      },
      binaryAllowed: true,
      closeCodes: [CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_INVALID_PAYLOAD],
    });
    expect(report.answers.connected).toBeGreaterThan(0);
    expect(report.answers['error:INVALID_MESSAGE']).toBeGreaterThan(0);

    const [a, b] = [new WebSocket(wsUrl('/ws/pcm?pair=after')), new WebSocket(wsUrl('/ws/pcm?pair=after'))];
    await Promise.all([nextMessage(a, ['connected']), nextMessage(b, ['connected'])]);
    const frame = Buffer.alloc(640);
    for (let i = 0; i < frame.length; i++) frame[i] = (i * 7) & 0xff;
    const got = new Promise<Buffer>((r) => b.on('message', (d, binary) => { if (binary) r(d as Buffer); }));
    a.send(frame);
    expect((await got).equals(frame)).toBe(true);
    a.close();
    b.close();
  }, TIMEOUT);

  it('/ws/twilio: hostile Media Streams frames after a valid start, then a clean call joins its room', async () => {
    const report = await run({
      url: (w) => wsUrl(`/ws/twilio?room=fuzz-phone-${w}`),
      setup: async (ws) => {
        for (const f of TWILIO_SAMPLES.slice(0, 2)) ws.send(JSON.stringify(f));
        return new Map();
      },
      frames: fc.oneof(
        { weight: 6, arbitrary: hostileFrame(TWILIO_SAMPLES).map(text) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 400 }).map((b) => ({ data: Buffer.from(b), binary: true })) },
      ),
      checkText: (t) => {
        const m = JSON.parse(t) as { event?: string; code?: string };
        if (m.event === 'error') {
          if (!isWireErrorCode(String(m.code)) || m.code === 'INTERNAL') throw new Error(`error code ${m.code}`);
          return;
        }
        parseTwilioOutbound(t);
      },
      binaryAllowed: false,
      closeCodes: [CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_INVALID_PAYLOAD],
    });
    expect(report.answers['error:INVALID_MESSAGE']).toBeGreaterThan(0);

    const member = new WebSocket(wsUrl('/ws'));
    await new Promise((r) => member.once('open', r));
    await joinRoom(member, 'after-phone');
    const phone = new WebSocket(wsUrl('/ws/twilio?room=after-phone'));
    await new Promise((r) => phone.once('open', r));
    const joined = nextMessage(member, ['peer-joined']);
    for (const f of TWILIO_SAMPLES.slice(0, 2)) phone.send(JSON.stringify(f));
    expect(((await joined).participant as { name: string }).name).toBe('Phone');
    phone.close();
    member.close();
  }, TIMEOUT);

  it('the room API: hostile bodies are answered 201, 400, 409 or 413, never 500', async () => {
    const bodies = fc.sample(fc.oneof(
      hostileFrame([{ id: 'api-room', topology: 'sfu', maxMembers: 4, name: 'x' }]),
      fc.integer({ min: 16 * 1024, max: 20 * 1024 }).map((n) => JSON.stringify({ id: 'big', name: 'x'.repeat(n) })),
    ), { numRuns: Math.min(FRAMES, LONG ? 20_000 : 500), seed: SEED });
    const before = rssMb();
    const statuses: Record<number, number> = {};
    for (const body of bodies) {
      const res = await fetch(`${base}/api/rooms`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      const answer = await res.json() as { id?: string; error?: { code?: string } };
      if (res.status === 201) await fetch(`${base}/api/rooms/${encodeURIComponent(answer.id!)}`, { method: 'DELETE' });
      else expect(isWireErrorCode(String(answer.error?.code)) && answer.error?.code !== 'INTERNAL', `${res.status} ${JSON.stringify(answer)} for ${body.slice(0, 200)}`).toBe(true);
    }
    console.log(JSON.stringify({ statuses }));
    expect(Object.keys(statuses).map(Number).every((s) => [201, 400, 409, 413].includes(s))).toBe(true);
    expect(statuses[400]).toBeGreaterThan(0);
    expect(server.child.exitCode).toBeNull();
    expect(serverErrors()).toEqual([]);
    expect(rssMb() - before).toBeLessThan(RSS_BOUND_MB);
  }, TIMEOUT);

  it.each(['whip', 'whep'] as const)('/%s: damaged offers, wrong content types and hostile PATCH fragments, answered by RFC 9725 status, never 500; then a clean client is heard', async (endpoint) => {
    for (const id of [`fuzz-${endpoint}`, `after-${endpoint}`]) {
      expect((await fetch(`${base}/api/rooms`, { method: 'POST', body: JSON.stringify({ id, topology: 'sfu' }), headers: { 'content-type': 'application/json' } })).status).toBe(201);
    }
    const requests = fc.sample(fc.tuple(
      // A WHEP offer receives: the same offers with their send-only sections turned around.
      fc.oneof({ weight: 8, arbitrary: endpoint === 'whip' ? damagedOffer : damagedOffer.map((o) => o.replace(/^a=sendonly/gm, 'a=recvonly')) }, { weight: 1, arbitrary: fc.string({ maxLength: 200 }) }, { weight: 1, arbitrary: fc.constant('') }),
      fc.oneof({ weight: 8, arbitrary: fc.constant('application/sdp') }, { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/json', 'application/sdp; charset=utf-8', '') }),
      fc.array(fc.oneof(
        fc.constantFrom('a=mid:0', 'a=candidate:1 1 udp 2122260223 127.0.0.1 9 typ host', 'a=end-of-candidates', 'a=ice-ufrag:zz', 'a=ice-pwd:0123456789012345678901', 'm=audio 9 UDP/TLS/RTP/SAVPF 111'),
        fc.string({ unit: 'binary', maxLength: 80 }),
      ), { maxLength: 6 }).map((lines) => lines.join('\r\n')),
      fc.constantFrom(undefined, '*', '"stale"'),
    ), { numRuns: Math.min(FRAMES, LONG ? 5_000 : 100), seed: SEED });
    const before = rssMb();
    const statuses: Record<string, number> = {};
    const count = (what: string) => { statuses[what] = (statuses[what] ?? 0) + 1; };
    const refusal = async (res: Response, what: string) => {
      const answer = await res.json() as { error?: { code?: string } };
      expect(isWireErrorCode(String(answer.error?.code)) && answer.error?.code !== 'INTERNAL', `${what} ${res.status} ${JSON.stringify(answer)}`).toBe(true);
    };
    for (const [sdp, type, fragment, ifMatch] of requests) {
      const res = await fetch(`${base}/${endpoint}/fuzz-${endpoint}`, { method: 'POST', body: sdp, headers: type ? { 'content-type': type } : {} });
      count(`POST ${res.status}`);
      if (res.status !== 201) {
        await refusal(res, `POST of ${sdp.slice(0, 120)}`);
        continue;
      }
      await res.text();
      const session = new URL(res.headers.get('location')!, base).toString();
      const patch = await fetch(session, { method: 'PATCH', body: fragment, headers: { 'content-type': 'application/trickle-ice-sdpfrag', ...(ifMatch && { 'if-match': ifMatch }) } });
      count(`PATCH ${patch.status}`);
      if (patch.status !== 204) await refusal(patch, `PATCH of ${fragment.slice(0, 120)}`);
      count(`DELETE ${(await fetch(session, { method: 'DELETE' })).status}`);
    }
    console.log(JSON.stringify({ [endpoint]: statuses }));
    const allowed = ['POST 201', 'POST 400', 'POST 413', 'POST 415', 'POST 422', 'PATCH 204', 'PATCH 400', 'PATCH 412', 'PATCH 422', 'PATCH 428', 'DELETE 200'];
    expect(Object.keys(statuses).filter((k) => !allowed.includes(k))).toEqual([]);
    expect(statuses['POST 201'] ?? 0).toBeGreaterThan(0);
    expect(statuses['POST 400'] ?? 0).toBeGreaterThan(0);
    expect(server.child.exitCode).toBeNull();
    expect(serverErrors()).toEqual([]);
    expect(rssMb() - before).toBeLessThan(RSS_BOUND_MB);
    // Nothing left in the room, and a clean client is heard right after (a WHEP one hears a WHIP one).
    const listing = await (await fetch(`${base}/api/rooms/fuzz-${endpoint}`)).json() as { participants: unknown[] };
    expect(listing.participants).toEqual([]);
    const listener = endpoint === 'whip' ? await sfuMember(wsUrl('/ws'), 'after-whip', 'listener', undefined) : undefined;
    const whip = new WhipClient({ url: `${base}/whip/after-${endpoint}`, peer: PEER });
    await whip.start();
    void whip.play(new ToneSource(440, { durationMs: 600_000 }));
    const viewer = endpoint === 'whep' ? new WhepClient({ url: `${base}/whep/after-whep`, video: false, peer: PEER }) : undefined;
    const viewed: Buffer[] = [];
    if (viewer) {
      viewer.audioTrack.onRtp = (p) => { if (!isRtcp(p)) viewed.push(Buffer.from(p)); };
      await viewer.start();
    }
    const heard = () => (listener ? [...listener.heard.values()][0] ?? [] : viewed);
    await expect.poll(() => heard().length > 50, { timeout: 15_000 }).toBe(true);
    expect(frequencyOf(heard())).toBeCloseTo(440, -1);
    await viewer?.stop();
    await whip.stop();
    await listener?.stop();
  }, TIMEOUT);
});

