// Audio thread, speaker side: the partner's decoded frames go through the jitter buffer to the
// output. Posts its figures a few times a second, and on request a copy of what it played (the
// tests measure the partner's tone there, at the very end of the playback path).
import { JitterBuffer } from './jitter-buffer.js';

/** Render quanta between two stats messages (128 samples each: ~0.25 s at 48 kHz). */
const STATS_EVERY = 94;

class DuoPlayback extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.jb = new JitterBuffer({ sampleRate, ...options.processorOptions });
    this.quanta = 0;
    this.sumSquares = 0;
    this.tap = undefined;
    this.port.onmessage = (e) => {
      const m = e.data;
      if (m.type === 'audio') this.jb.push(m.samples);
      else if (m.type === 'tap') this.tap = { id: m.id, out: new Float32Array(m.samples), filled: 0 };
      else if (m.type === 'clear') this.jb.clear();
      else if (m.type === 'pause') this.jb.pause(m.paused);
    };
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    this.jb.pull(out);
    for (let i = 0; i < out.length; i++) this.sumSquares += out[i] * out[i];
    if (this.tap) this.record(out);
    if (++this.quanta === STATS_EVERY) this.report(out.length);
    return true;
  }

  record(out) {
    const t = this.tap;
    const n = Math.min(out.length, t.out.length - t.filled);
    t.out.set(out.subarray(0, n), t.filled);
    t.filled += n;
    if (t.filled === t.out.length) {
      this.port.postMessage({ type: 'tap', id: t.id, samples: t.out }, [t.out.buffer]);
      this.tap = undefined;
    }
  }

  report(quantum) {
    const jb = this.jb;
    this.port.postMessage({
      type: 'stats',
      bufferedMs: (jb.buffered / sampleRate) * 1000,
      cushionMs: (jb.cushion / sampleRate) * 1000,
      playbackRate: jb.rate,
      underruns: jb.underruns,
      droppedMs: (jb.dropped / sampleRate) * 1000,
      playedMs: (jb.played / sampleRate) * 1000,
      level: Math.sqrt(this.sumSquares / (this.quanta * quantum)),
    });
    this.quanta = 0;
    this.sumSquares = 0;
  }
}

registerProcessor('duo-playback', DuoPlayback);
