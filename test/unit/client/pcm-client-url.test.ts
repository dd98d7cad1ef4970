import { describe, expect, it } from 'vitest';
import { pcmSocketUrl } from '../../../src/client/pcm-client.js';
import { SampleFrames, ToneFrames } from '../../../src/media/frames.js';

const codeOf = (f: () => unknown) => { try { f(); } catch (err) { return (err as { code?: string }).code; } return undefined; };

describe('pcmSocketUrl', () => {
  it('maps http(s) and ws(s) server addresses to the /ws/pcm endpoint with the parameters', () => {
    expect(pcmSocketUrl('http://localhost:8080', { codec: 'pcm', rate: 48000 })).toBe('ws://localhost:8080/ws/pcm?codec=pcm&rate=48000');
    expect(pcmSocketUrl('https://calls.example/', { codec: 'opus', rate: 16000, pair: 'ab_1' })).toBe('wss://calls.example/ws/pcm?codec=opus&rate=16000&pair=ab_1');
    expect(pcmSocketUrl('ws://h:1/ws/pcm', { codec: 'pcm', rate: 8000, token: 't' })).toBe('ws://h:1/ws/pcm?codec=pcm&rate=8000&token=t');
  });

  it('takes the pair code from a /duo link unless one is given', () => {
    expect(pcmSocketUrl('http://h:8080/duo?pair=team-a', { codec: 'pcm', rate: 48000 })).toBe('ws://h:8080/ws/pcm?codec=pcm&rate=48000&pair=team-a');
    expect(pcmSocketUrl('http://h:8080/duo?pair=team-a', { codec: 'pcm', rate: 48000, pair: 'b' })).toContain('pair=b');
  });

  it('joins a room (v2) given as `room` or by a /r/NAME call link, with a name', () => {
    expect(pcmSocketUrl('http://h:8080', { codec: 'pcm', rate: 16000, room: 'standup', name: 'Desk phone' })).toBe('ws://h:8080/ws/pcm?codec=pcm&rate=16000&room=standup&name=Desk+phone');
    expect(pcmSocketUrl('https://h/r/team-a', { codec: 'opus', rate: 48000 })).toBe('wss://h/ws/pcm?codec=opus&rate=48000&room=team-a');
    expect(pcmSocketUrl('https://h/r/team-a', { codec: 'pcm', rate: 48000, room: 'b' })).toContain('room=b');
    expect(codeOf(() => pcmSocketUrl('http://h', { codec: 'pcm', rate: 48000, room: 'no spaces' }))).toBe('INVALID_CONFIG');
    expect(codeOf(() => pcmSocketUrl('http://h', { codec: 'pcm', rate: 48000, room: 'a', pair: 'b' }))).toBe('INVALID_CONFIG');
    expect(codeOf(() => pcmSocketUrl('http://h', { codec: 'pcm', rate: 48000, name: 'N' }))).toBe('INVALID_CONFIG');
    expect(codeOf(() => pcmSocketUrl('http://h', { codec: 'pcm', rate: 48000, room: 'a', name: 'x'.repeat(65) }))).toBe('INVALID_CONFIG');
  });

  it('refuses what is not a server address or a valid code with INVALID_CONFIG', () => {
    expect(codeOf(() => pcmSocketUrl('localhost:8080', { codec: 'pcm', rate: 48000 }))).toBe('INVALID_CONFIG');
    expect(codeOf(() => pcmSocketUrl('ftp://h', { codec: 'pcm', rate: 48000 }))).toBe('INVALID_CONFIG');
    expect(codeOf(() => pcmSocketUrl('http://h', { codec: 'pcm', rate: 48000, pair: 'no spaces' }))).toBe('INVALID_CONFIG');
  });
});

describe('frame sources', () => {
  it('a timed tone gives 20 ms frames at its rate, then ends', () => {
    const t = new ToneFrames(440, 16000, { durationMs: 60 });
    const lengths: number[] = [];
    for (let f = t.nextFrame(); f; f = t.nextFrame()) lengths.push(f.length);
    expect(lengths).toEqual([320, 320, 320]);
    expect(t.ended).toBe(true);
  });

  it('samples play once in 20 ms frames, the last one padded with silence', () => {
    const s = new SampleFrames(Int16Array.from({ length: 500 }, (_, i) => i + 1), 8000);
    const a = Array.from(s.nextFrame()!);
    const b = Array.from(s.nextFrame()!);
    expect(a.length).toBe(160);
    expect(b[0]).toBe(161);
    s.nextFrame();
    const last = Array.from(s.nextFrame()!);
    expect(last.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => 481 + i));
    expect(last.slice(20).every((x) => x === 0)).toBe(true);
    expect(s.nextFrame()).toBeUndefined();
    expect(s.ended).toBe(true);
  });
});
