import { describe, expect, it } from 'vitest';
import { loadVideoLayers, VIDEO_LAYER_SIZES } from '../../../src/loadtest/video.js';
import { vp8KeyframeSize } from '../../../src/media/vp8.js';

describe('loadVideoLayers', () => {
  it('reads the three clips low → high, each starting with a key frame of its size', () => {
    const layers = loadVideoLayers();
    expect(layers).toHaveLength(3);
    layers.forEach((frames, i) => {
      const [w, h] = VIDEO_LAYER_SIZES[i]!.split('x').map(Number);
      expect(vp8KeyframeSize(frames[0]!.data)).toEqual({ width: w, height: h });
    });
  });

  it('a missing clip is INVALID_CONFIG naming the file and saying what to do', () => {
    const dir = new URL('file:///nonexistent-callpeer-clips/');
    expect(() => loadVideoLayers(dir)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(/\/nonexistent-callpeer-clips\/160x90\.ivf.*reinstall/) }));
  });
});
