/** The call page's use of the server's media settings (static/js/media-settings.js), run in Node. */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module of the pages (no types)
import { cameraConstraints, cameraEncodings, capEncoding } from '../../../static/js/media-settings.js';

const LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
];

describe('media settings on the page', () => {
  it('the ceiling is the track\'s: simulcast layers over it are scaled down alike; simulcast off sends the top layer alone', () => {
    expect(cameraEncodings(LAYERS, undefined)).toEqual(LAYERS);
    // 2,150 kbps of layers under a 430 kbps ceiling: each a fifth.
    expect(cameraEncodings(LAYERS, { simulcast: true, maxVideoBitrateKbps: 430, maxFramerate: 15 })).toEqual([
      { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 30_000, maxFramerate: 15 },
      { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 100_000, maxFramerate: 15 },
      { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 300_000, maxFramerate: 15 },
    ]);
    expect(cameraEncodings(LAYERS, { simulcast: true, maxVideoBitrateKbps: 5000 })).toEqual(LAYERS);
    expect(cameraEncodings(LAYERS, { simulcast: false })).toEqual([{ scaleResolutionDownBy: 1, maxBitrate: 1_500_000 }]);
    expect(cameraEncodings(LAYERS, { simulcast: false, maxVideoBitrateKbps: 800 })).toEqual([{ scaleResolutionDownBy: 1, maxBitrate: 800_000 }]);
    expect(LAYERS[2]!.maxBitrate).toBe(1_500_000); // the defaults are not touched
  });

  it('caps a sender\'s encoding by kind and says whether it changed it', () => {
    const media = { simulcast: true, maxVideoBitrateKbps: 300, audioBitrateKbps: 24 };
    const video: Record<string, number> = {};
    expect(capEncoding(video, 'video', media)).toBe(true);
    expect(video).toEqual({ maxBitrate: 300_000 });
    expect(capEncoding(video, 'video', media)).toBe(false);
    const audio: Record<string, number> = { maxBitrate: 510_000 };
    expect(capEncoding(audio, 'audio', media)).toBe(true);
    expect(audio).toEqual({ maxBitrate: 24_000 });
    expect(capEncoding({ maxBitrate: 20_000 }, 'audio', media)).toBe(false);
    expect(capEncoding({}, 'video', undefined)).toBe(false);
  });

  it('camera constraints: the largest picture and frame rate, and an ideal size no larger', () => {
    expect(cameraConstraints(undefined)).toBeUndefined();
    expect(cameraConstraints({ simulcast: true })).toBeUndefined();
    expect(cameraConstraints({ simulcast: true, maxResolution: { width: 640, height: 360 }, maxFramerate: 15 })).toEqual({
      width: { max: 640 }, height: { max: 360 }, frameRate: { max: 15 },
    });
    expect(cameraConstraints({ simulcast: true, maxResolution: { width: 640, height: 360 } }, { width: 1280, height: 720 })).toEqual({
      width: { ideal: 640, max: 640 }, height: { ideal: 360, max: 360 },
    });
    expect(cameraConstraints(undefined, { width: 1280, height: 720 })).toEqual({ width: { ideal: 1280 }, height: { ideal: 720 } });
  });
});
