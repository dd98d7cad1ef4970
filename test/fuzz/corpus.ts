/**
 * What the fuzzers start from: one valid frame of every message type each endpoint takes, and
 * fast-check arbitraries that break them the ways a hostile or broken client does (wrong
 * types, missing and extra fields, huge numbers, deep nesting, `__proto__`/`constructor`
 * keys, text cut or spliced, frames at and over the size limits).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n';

/** One valid frame of each /ws client message type (PROTOCOL.md, v2 included). */
export const SIGNALING_SAMPLES: Record<string, Json>[] = [
  { type: 'join', room: 'fuzz', name: 'Ann', role: 'member', audio: true, video: false, metadata: { a: [1, { b: 'c' }] }, autoSubscribe: true },
  { type: 'offer', to: 'p1', sdp: SDP },
  { type: 'answer', to: 'p1', sdp: SDP },
  { type: 'candidate', to: 'p1', candidate: 'candidate:1 1 UDP 2122317823 127.0.0.1 40000 typ host', mid: '0' },
  { type: 'media', audio: false, video: true, screen: false },
  { type: 'chat', text: 'hello' },
  { type: 'leave' },
  { type: 'ping', id: 7 },
  { type: 'subscribe', publisher: 'p1', track: 'p1:camera' },
  { type: 'unsubscribe', publisher: 'p1', track: 'p1:camera' },
  { type: 'layer', track: 'p1:camera', quality: 'low' },
  { type: 'stats', peer: 'p1', packetLoss: 1.5, jitterMs: 3, rttMs: 20, bitrateKbps: 800, framesPerSecond: 30 },
];

/** /ws/pcm's one text message. */
export const PCM_SAMPLES: Record<string, Json>[] = [{ type: 'mute', muted: true }, { type: 'mute', muted: false }];

const STREAM = 'MZ00000000000000000000000000000000';
/** Twilio Media Streams frames, as Twilio sends them to /ws/twilio. */
export const TWILIO_SAMPLES: Record<string, Json>[] = [
  { event: 'connected', protocol: 'Call', version: '1.0.0' },
  {
    event: 'start', sequenceNumber: '1', streamSid: STREAM,
    start: { accountSid: 'AC0', streamSid: STREAM, callSid: 'CA0', tracks: ['inbound'], customParameters: { room: 'fuzz', name: 'Phone' }, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
  },
  { event: 'media', sequenceNumber: '2', streamSid: STREAM, media: { track: 'inbound', chunk: '1', timestamp: '20', payload: Buffer.alloc(160, 0xff).toString('base64') } },
  { event: 'mark', sequenceNumber: '3', streamSid: STREAM, mark: { name: 'm1' } },
  { event: 'dtmf', sequenceNumber: '4', streamSid: STREAM, dtmf: { track: 'inbound_track', digit: '5' } },
  { event: 'stop', sequenceNumber: '5', streamSid: STREAM, stop: { accountSid: 'AC0', callSid: 'CA0' } },
];

const KEYS_OF_NOTE = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'type', 'event'];

/** A value of the wrong kind, or of the right kind at an edge: what a field gets instead of its own. */
const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.constantFrom<Json>(null, true, false, 0, -1, -0, 1e308, -1e308, 2 ** 53 + 1, 4294967296, '', ' ', '\u0000', '\ud800', 'NaN', '1e999', [], {}),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.integer({ min: 1, max: 70_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 1, max: 3000 }).map((n) => nested(n)),
);

function nested(depth: number): Json {
  let v: Json = 1;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { d: v };
  return v;
}

type Mutation =
  | { kind: 'set'; key: number; value: Json }
  | { kind: 'delete'; key: number }
  | { kind: 'add'; key: string; value: Json };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: fc.nat(), value: hostileValue }),
  fc.record({ kind: fc.constant('delete' as const), key: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), key: fc.oneof(fc.constantFrom(...KEYS_OF_NOTE), fc.string({ maxLength: 12 })), value: hostileValue }),
);

/**
 * JSON text with keys in order, written by hand so that a key named `__proto__` is an own
 * key of the frame (as JSON.parse reads it), never the prototype of the object written.
 */
function jsonText(entries: [string, Json][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
}

function mutate(sample: Record<string, Json>, mutations: Mutation[]): string {
  const entries = Object.entries(sample);
  for (const m of mutations) {
    if (m.kind === 'add') entries.push([m.key, m.value]);
    else if (entries.length === 0) continue;
    else if (m.kind === 'delete') entries.splice(m.key % entries.length, 1);
    else entries[m.key % entries.length]![1] = m.value;
  }
  return jsonText(entries);
}

/** Text-level damage: cut, spliced, repeated, wrapped, or replaced by something else entirely. */
type TextDamage = { kind: 'none' } | { kind: 'cut'; at: number } | { kind: 'splice'; at: number; text: string } | { kind: 'wrap' } | { kind: 'other'; text: string };

const textDamage: fc.Arbitrary<TextDamage> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'none' as const }) },
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), text: fc.string({ unit: 'binary', maxLength: 8 }) }),
  fc.constant({ kind: 'wrap' as const }),
  fc.record({
    kind: fc.constant('other' as const),
    text: fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.constantFrom('', 'null', '[]', '"join"', '{}', '{"type":null}', '{"type":{}}', '{"type":"__proto__"}', '{"type":"constructor"}', '{"event":"toString"}'),
      fc.integer({ min: 1000, max: 200_000 }).map((n) => '['.repeat(n)),
      fc.integer({ min: 1000, max: 50_000 }).map((n) => `{"type":"join","room":"fuzz","metadata":${'['.repeat(n)}1${']'.repeat(n)}}`),
    ),
  }),
);

function damage(text: string, d: TextDamage): string {
  switch (d.kind) {
    case 'none': return text;
    case 'cut': return text.slice(0, d.at % (text.length + 1));
    case 'splice': { const at = d.at % (text.length + 1); return text.slice(0, at) + d.text + text.slice(at); }
    case 'wrap': return `[${text}]`;
    case 'other': return d.text;
  }
}

/** A text frame grown from one of `samples`: mostly still JSON objects, many nearly valid. */
export function hostileFrame(samples: Record<string, Json>[]): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...samples), fc.array(mutation, { maxLength: 3 }), textDamage)
    .map(([sample, mutations, d]) => damage(mutate(sample, mutations), d));
}

/** Bytes: random, or a valid sample with bytes flipped, cut, or grown. */
export function mutatedBytes(samples: readonly Uint8Array[], maxLength = 2048): fc.Arbitrary<Uint8Array> {
  const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 });
  const fromSample = fc.tuple(fc.constantFrom(...samples), flips, fc.option(fc.nat()), fc.uint8Array({ maxLength: 64 }))
    .map(([sample, edits, cut, tail]) => {
      const out = new Uint8Array(sample);
      for (const [at, value] of edits) if (out.length) out[at % out.length] = value;
      const kept = cut === null ? out : out.subarray(0, cut % (out.length + 1));
      const grown = new Uint8Array(kept.length + tail.length);
      grown.set(kept);
      grown.set(tail, kept.length);
      return grown;
    });
  return fc.oneof(fromSample, fromSample, fc.uint8Array({ maxLength }));
}

const OFFERS = ['chromium-offer-av-dc.sdp', 'chromium-offer-recvonly.sdp', 'ndc-offer-audio-sendonly.sdp']
  .map((f) => readFileSync(new URL(`../fixtures/rtc/${f}`, import.meta.url), 'utf8'));
const OFFER_LINES = OFFERS.flatMap((o) => o.split('\r\n')).filter(Boolean);

/**
 * Real offers (Chromium's, node-datachannel's) damaged at the line level: lines dropped,
 * repeated, swapped in from another offer, or garbled; now and then hundreds of m-sections.
 */
export const damagedOffer: fc.Arbitrary<string> = fc.tuple(
  fc.constantFrom(...OFFERS),
  fc.array(fc.oneof(
    fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), line: fc.oneof(fc.constantFrom(...OFFER_LINES), fc.string({ unit: 'binary', maxLength: 60 })) }),
    fc.record({ op: fc.constant('garble' as const), at: fc.nat(), cut: fc.nat() }),
  ), { maxLength: 6 }),
  fc.integer({ min: 0, max: 400 }),
).map(([offer, ops, sections]) => {
  const ls = offer.split('\r\n');
  for (const o of ops) {
    const at = o.at % ls.length;
    if (o.op === 'drop') ls.splice(at, 1);
    else if (o.op === 'insert') ls.splice(at, 0, o.line);
    else ls[at] = ls[at]!.slice(0, o.cut % (ls[at]!.length + 1));
  }
  const extra = sections > 380 ? Array.from({ length: sections }, (_, i) => `m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:x${i}\r\na=rtpmap:111 opus/48000/2`) : [];
  return [...ls, ...extra].join('\r\n');
});
