// The page's audio graph: microphone -> capture worklet (20 ms frames, level) and
// partner's frames -> playback worklet (jitter buffer) -> speakers, in one 48 kHz context.

export const SAMPLE_RATE = 48_000;
export const FRAME_MS = 20;

/** A plain sentence for why the microphone did not open. */
function micProblem(err) {
  if (err?.name === 'NotAllowedError' || err?.name === 'SecurityError') return 'The microphone is blocked. Allow it for this site (the icon in the address bar), then press Start again.';
  if (err?.name === 'NotFoundError' || err?.name === 'OverconstrainedError') return 'No microphone was found. Plug one in, then press Start again.';
  if (err?.name === 'NotReadableError') return 'The microphone is busy in another app. Close it there, then press Start again.';
  return `The microphone could not be started (${err?.message ?? err}).`;
}

export class DuoAudio {
  /**
   * Opens the microphone and the audio graph. Rejects with an Error whose message is a plain
   * sentence for the page. `raw` turns off echo cancellation, noise suppression and gain
   * control (tests with steady tones).
   * `onEnded` runs if the microphone goes away later (unplugged, revoked).
   * @param {{ raw: boolean, onFrame: (frame: Float32Array, rms: number) => void, onEnded: () => void }} o
   */
  static async open({ raw, onFrame, onEnded }) {
    if (!navigator.mediaDevices?.getUserMedia || typeof AudioWorkletNode !== 'function') {
      throw new Error('This browser cannot use the microphone here: open the page over https (or on localhost).');
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: raw ? { echoCancellation: false, noiseSuppression: false, autoGainControl: false } : { echoCancellation: true, noiseSuppression: true } });
    } catch (err) {
      throw new Error(micProblem(err));
    }
    let ctx;
    try {
      // 48 kHz whatever the device runs at: frames on the wire and Opus both use it.
      ctx = new AudioContext({ sampleRate: SAMPLE_RATE, latencyHint: 'interactive' });
      await ctx.audioWorklet.addModule(new URL('./capture-worklet.js', import.meta.url));
      await ctx.audioWorklet.addModule(new URL('./playback-worklet.js', import.meta.url));
    } catch (err) {
      stream.getTracks().forEach((t) => t.stop());
      await ctx?.close();
      throw new Error(`The audio engine could not start (${err?.message ?? err}).`);
    }
    const audio = new DuoAudio(ctx, stream, onFrame);
    stream.getAudioTracks()[0]?.addEventListener('ended', onEnded);
    return audio;
  }

  constructor(ctx, stream, onFrame) {
    this.ctx = ctx;
    this.stream = stream;
    this.playStats = { bufferedMs: 0, cushionMs: 0, playbackRate: 1, underruns: 0, droppedMs: 0, playedMs: 0, level: 0 };
    this.taps = new Map();
    this.nextTap = 1;

    const frameSamples = (SAMPLE_RATE * FRAME_MS) / 1000;
    this.capture = new AudioWorkletNode(ctx, 'duo-capture', { numberOfOutputs: 1, outputChannelCount: [1], processorOptions: { frameSamples } });
    this.capture.port.onmessage = (e) => onFrame(e.data.frame, e.data.rms);
    this.source = ctx.createMediaStreamSource(stream);
    this.source.connect(this.capture);
    // The capture node outputs silence; connecting it keeps the graph pulling it.
    this.capture.connect(ctx.destination);

    this.playback = new AudioWorkletNode(ctx, 'duo-playback', { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1], processorOptions: { startMs: 50 } });
    this.playback.port.onmessage = (e) => {
      const m = e.data;
      if (m.type === 'stats') this.playStats = m;
      else if (m.type === 'tap') {
        this.taps.get(m.id)?.(m.samples);
        this.taps.delete(m.id);
      }
    };
    this.playback.connect(ctx.destination);
    // A real browser may start the context suspended until a gesture; Start is one.
    if (ctx.state !== 'running') void ctx.resume();
  }

  /** A browser may suspend the context (no gesture yet, an interruption); a click resumes it. */
  resume() {
    if (this.ctx.state !== 'running' && this.ctx.state !== 'closed') void this.ctx.resume();
  }

  /** The partner's decoded audio, to the jitter buffer. */
  play(samples) {
    this.playback.port.postMessage({ type: 'audio', samples }, [samples.buffer]);
  }

  /** Drops buffered audio of a partner who left. */
  clear() {
    this.playback.port.postMessage({ type: 'clear' });
  }

  /** The partner muted (true) or unmuted: the silence that follows is not an underrun. */
  pause(paused) {
    this.playback.port.postMessage({ type: 'pause', paused });
  }

  /** The next `ms` of what the speakers get (for tests and diagnostics). */
  tap(ms) {
    const id = this.nextTap++;
    return new Promise((resolve) => {
      this.taps.set(id, resolve);
      this.playback.port.postMessage({ type: 'tap', id, samples: Math.round((SAMPLE_RATE * ms) / 1000) });
    });
  }

  async close() {
    this.stream.getTracks().forEach((t) => t.stop());
    this.source.disconnect();
    this.capture.port.onmessage = null;
    this.playback.port.onmessage = null;
    for (const resolve of this.taps.values()) resolve(new Float32Array(0));
    this.taps.clear();
    await this.ctx.close();
  }
}
