/**
 * Twilio Media Streams messages as Twilio documents them (the "Media Streams - WebSocket
 * Messages" reference): the examples below are written out by hand from that format, not from
 * our builders, so a builder that drifts from it fails.
 */
import { describe, expect, it } from 'vitest';
import { CallpeerError } from '../../../src/errors.js';
import {
  decodeBase64, parseTwilioInbound, parseTwilioOutbound, TWILIO_CHUNK_BYTES, twilioClear, twilioConnected, twilioInboundMark,
  twilioInboundMedia, twilioMark, twilioMedia, twilioStart, twilioStop, unsupportedFormat,
} from '../../../src/protocol/twilio.js';

const SID = 'MZ18ad3ab5a668481ce02b83e7395059f0';
const START = {
  event: 'start', sequenceNumber: '1',
  start: {
    accountSid: 'AC123', streamSid: SID, callSid: 'CA123', tracks: ['inbound'],
    customParameters: { name: 'Reception', token: 'abc' },
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
  },
  streamSid: SID,
};

function invalid(f: () => unknown, text: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CallpeerError);
    expect((e as CallpeerError).code).toBe('INVALID_MESSAGE');
    expect((e as Error).message).toMatch(text);
    return;
  }
  throw new Error('expected INVALID_MESSAGE');
}

describe('Twilio messages the telephony side sends', () => {
  it('reads connected, start, media, mark, dtmf and stop as Twilio writes them', () => {
    expect(parseTwilioInbound('{"event":"connected","protocol":"Call","version":"1.0.0"}')).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    const start = parseTwilioInbound(JSON.stringify(START));
    expect(start).toMatchObject({ event: 'start', streamSid: SID, start: { callSid: 'CA123', tracks: ['inbound'], mediaFormat: START.start.mediaFormat } });
    expect(start.event === 'start' && { ...start.start.customParameters }).toEqual({ name: 'Reception', token: 'abc' });
    const media = parseTwilioInbound(JSON.stringify({
      event: 'media', sequenceNumber: '3',
      media: { track: 'inbound', chunk: '1', timestamp: '5', payload: 'no+JhoaJjY+Wnqirqw==' },
      streamSid: SID,
    }));
    expect(media.event === 'media' && [...media.media.payload]).toEqual([...Buffer.from('no+JhoaJjY+Wnqirqw==', 'base64')]);
    expect(media).toMatchObject({ streamSid: SID, sequenceNumber: '3', media: { chunk: '1', timestamp: '5', track: 'inbound' } });
    expect(parseTwilioInbound(`{"event":"mark","sequenceNumber":"4","streamSid":"${SID}","mark":{"name":"my label"}}`)).toMatchObject({ mark: { name: 'my label' } });
    expect(parseTwilioInbound(`{"event":"dtmf","streamSid":"${SID}","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}`)).toMatchObject({ dtmf: { digit: '1' } });
    expect(parseTwilioInbound(`{"event":"stop","sequenceNumber":"5","streamSid":"${SID}","stop":{"accountSid":"AC123","callSid":"CA123"}}`)).toMatchObject({ event: 'stop', stop: { callSid: 'CA123' } });
  });

  it('builds the same messages field for field', () => {
    expect(JSON.parse(twilioConnected())).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(JSON.parse(twilioStart(1, { accountSid: 'AC123', streamSid: SID, callSid: 'CA123', customParameters: { name: 'Reception', token: 'abc' } }))).toEqual(START);
    const payload = Uint8Array.from({ length: TWILIO_CHUNK_BYTES }, (_, i) => i);
    const media = JSON.parse(twilioInboundMedia(7, SID, 6, 100, payload)) as { media: { payload: string } };
    expect(media).toEqual({ event: 'media', sequenceNumber: '7', media: { track: 'inbound', chunk: '6', timestamp: '100', payload: Buffer.from(payload).toString('base64') }, streamSid: SID });
    expect(JSON.parse(twilioInboundMark(8, SID, 'm1'))).toEqual({ event: 'mark', sequenceNumber: '8', streamSid: SID, mark: { name: 'm1' } });
    expect(JSON.parse(twilioInboundMark(8, SID, 'm1', true))).toEqual({ event: 'mark', sequenceNumber: '8', streamSid: SID, mark: { name: 'm1', cleared: true } });
    expect(JSON.parse(twilioStop(9, SID, 'AC123', 'CA123'))).toEqual({ event: 'stop', sequenceNumber: '9', streamSid: SID, stop: { accountSid: 'AC123', callSid: 'CA123' } });
    // What a builder writes, the parser reads back.
    const round = parseTwilioInbound(twilioInboundMedia(7, SID, 6, 100, payload));
    expect(round.event === 'media' && [...round.media.payload]).toEqual([...payload]);
  });

  it('refuses malformed frames with INVALID_MESSAGE naming what is wrong', () => {
    invalid(() => parseTwilioInbound('{"event":"media"'), /not valid JSON/);
    invalid(() => parseTwilioInbound('[1]'), /JSON object/);
    invalid(() => parseTwilioInbound('{"event":7}'), /string "event"/);
    invalid(() => parseTwilioInbound('{"event":"dial"}'), /unknown event "dial"/);
    invalid(() => parseTwilioInbound(JSON.stringify({ ...START, start: { ...START.start, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: '8000', channels: 1 } } })), /sampleRate/);
    invalid(() => parseTwilioInbound(JSON.stringify({ ...START, start: { ...START.start, tracks: 'inbound' } })), /tracks/);
    invalid(() => parseTwilioInbound(JSON.stringify({ ...START, start: { ...START.start, customParameters: { n: 5 } } })), /customParameters\.n/);
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    invalid(() => parseTwilioInbound(JSON.stringify({ ...START, start: { ...START.start, customParameters: many } })), /over 32 entries/);
    const media = (payload: string) => JSON.stringify({ event: 'media', sequenceNumber: '3', media: { track: 'inbound', chunk: '1', timestamp: '5', payload }, streamSid: SID });
    invalid(() => parseTwilioInbound(media('no+JhoaJjY+Wnqirqw=')), /not base64/);
    invalid(() => parseTwilioInbound(media('no+Jho aJjY+Wnqirqw==')), /not base64/);
    invalid(() => parseTwilioInbound(media('A'.repeat(12_000))), /over 8000 bytes/);
    invalid(() => parseTwilioInbound(`{"event":"dtmf","streamSid":"${SID}","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"12"}}`), /digit/);
  });

  it('keeps a customParameters key named __proto__ as a plain key', () => {
    const text = JSON.stringify(START).replace('"name":"Reception"', '"__proto__":"x","name":"Reception"');
    const start = parseTwilioInbound(text);
    expect(start.event === 'start' && start.start.customParameters['__proto__']).toBe('x');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('tells a format other than µ-law 8 kHz mono apart, with the reason', () => {
    expect(unsupportedFormat(START.start.mediaFormat)).toBeUndefined();
    expect(unsupportedFormat({ encoding: 'audio/x-l16', sampleRate: 16000, channels: 1 })).toMatch(/audio\/x-l16 16000 Hz 1 ch: only audio\/x-mulaw 8000 Hz mono/);
    expect(unsupportedFormat({ encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 2 })).toMatch(/2 ch/);
  });
});

describe('Twilio messages the app sends back', () => {
  it('reads and builds media, mark and clear', () => {
    const payload = Uint8Array.from([0xff, 0x7f, 0x00, 0x80]);
    expect(JSON.parse(twilioMedia(SID, payload))).toEqual({ event: 'media', streamSid: SID, media: { payload: '/38AgA==' } });
    const media = parseTwilioOutbound(twilioMedia(SID, payload));
    expect(media.event === 'media' && [...media.media.payload]).toEqual([...payload]);
    expect(parseTwilioOutbound(twilioMark(SID, 'done'))).toEqual({ event: 'mark', streamSid: SID, mark: { name: 'done' } });
    expect(JSON.parse(twilioClear(SID))).toEqual({ event: 'clear', streamSid: SID });
    expect(parseTwilioOutbound(twilioClear(SID))).toEqual({ event: 'clear', streamSid: SID });
    invalid(() => parseTwilioOutbound(`{"event":"media","streamSid":"${SID}","media":{"payload":"***"}}`), /not base64/);
    invalid(() => parseTwilioOutbound(`{"event":"clear"}`), /streamSid/);
    invalid(() => parseTwilioOutbound('{"event":"start"}'), /unknown event/);
  });

  it('decodes only strict base64', () => {
    expect([...decodeBase64('', 'p')]).toEqual([]);
    expect([...decodeBase64('AAE=', 'p')]).toEqual([0, 1]);
    invalid(() => decodeBase64('AAE', 'p'), /not base64/);
    invalid(() => decodeBase64('AA-_', 'p'), /not base64/);
  });
});
