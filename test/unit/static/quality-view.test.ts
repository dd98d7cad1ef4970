/** The call page's words for the server's quality readings: bars, card rows, the banner about your own connection. */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module of the pages (no types)
import { cardRows, loweredText, ownQualityText, signalBars, signalWord, warningWords } from '../../../static/js/quality-view.js';

const reading = (over: Partial<{ score: number; packetLoss: number; jitterMs: number; rttMs: number; bitrateKbps: number; warnings: string[] }> = {}) => ({
  score: 100, packetLoss: 0, jitterMs: 1.2, rttMs: 3, bitrateKbps: 1450, warnings: [] as string[], ...over,
});

describe('signal bars', () => {
  it('4 bars from 80, 3 from 60, 2 from 40, else 1, each with its word', () => {
    expect([100, 80, 79, 60, 59, 40, 39, 0].map(signalBars)).toEqual([4, 4, 3, 3, 2, 2, 1, 1]);
    expect([92, 69, 45, 10].map(signalWord)).toEqual(['Good', 'Fair', 'Poor', 'Bad']);
  });
});

describe('the quality card', () => {
  it('shows loss, jitter, round trip, bitrate and the video size as received', () => {
    expect(cardRows(reading({ packetLoss: 12.5, rttMs: 450 }), { width: 1280, height: 720, fps: 29.7 })).toEqual([
      ['Packet loss', '12.5 %'], ['Jitter', '1.2 ms'], ['Round trip', '450 ms'], ['Bitrate', '1450 kbit/s'], ['Resolution', '1280×720 · 30 fps'],
    ]);
    expect(cardRows(reading(), undefined).at(-1)).toEqual(['Resolution', '–']);
    expect(cardRows(reading(), { width: 640, height: 360 }).at(-1)).toEqual(['Resolution', '640×360']);
  });

  it('names the warnings, most serious first', () => {
    expect(warningWords(reading({ warnings: ['high-rtt', 'high-loss'] }))).toBe('losing packets, slow network');
    expect(warningWords(reading())).toBe('');
  });
});

describe('the banner about your own connection', () => {
  it('says what is wrong with the figure that tripped it, and what people notice', () => {
    expect(ownQualityText(reading({ packetLoss: 12, warnings: ['high-loss'] })))
      .toBe('Your connection is losing packets (12 %): video may stutter and sound may break up.');
    expect(ownQualityText(reading({ rttMs: 450, warnings: ['high-rtt'] })))
      .toBe('Your network is slow (RTT 450 ms): expect a delay when you talk.');
    expect(ownQualityText(reading({ jitterMs: 42.5, warnings: ['high-jitter'] }))).toBe('Your connection is unsteady (jitter 42.5 ms): sound may break up.');
    expect(ownQualityText(reading({ bitrateKbps: 80, warnings: ['low-bitrate'] }))).toBe('Your video gets through at only 80 kbit/s: it may look blurry.');
    expect(ownQualityText(reading({ warnings: ['frozen-video'] }))).toBe('Your video is not getting through: others see it frozen.');
    expect(ownQualityText(reading({ warnings: ['no-media'] }))).toBe('Your audio and video are not getting through: check your network.');
  });

  it('says at most the two most serious things, and nothing without warnings', () => {
    const text = ownQualityText(reading({ packetLoss: 8, rttMs: 350, jitterMs: 40, warnings: ['high-loss', 'high-jitter', 'high-rtt'] }));
    expect(text).toBe('Your connection is losing packets (8 %): video may stutter and sound may break up. Your network is slow (RTT 350 ms): expect a delay when you talk.');
    expect(ownQualityText(reading())).toBe('');
  });
});

describe('the banner when the page lowered its video', () => {
  it('says why in plain words, and nothing when nothing is lowered', () => {
    expect(loweredText('loss')).toBe('Your connection is losing packets: video lowered.');
    expect(loweredText('rtt')).toBe('Your connection is slow: video lowered.');
    expect(loweredText('')).toBe('');
  });
});
