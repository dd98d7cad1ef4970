// Audio thread, microphone side: gathers the 128-sample render quanta into 20 ms frames and
// posts each with its RMS level, so the page sends one WebSocket frame per 20 ms of audio.

class DuoCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = options.processorOptions.frameSamples;
    this.frame = new Float32Array(this.size);
    this.filled = 0;
  }

  process(inputs) {
    // No input yet (microphone starting) counts as silence, so frames keep their 20 ms pace.
    const input = inputs[0]?.[0];
    const n = input ? input.length : 128;
    for (let i = 0; i < n; i++) {
      this.frame[this.filled++] = input ? input[i] : 0;
      if (this.filled === this.size) this.flush();
    }
    return true;
  }

  flush() {
    const frame = this.frame;
    let sum = 0;
    for (let i = 0; i < frame.length; i++) sum += frame[i] * frame[i];
    this.port.postMessage({ frame, rms: Math.sqrt(sum / frame.length) }, [frame.buffer]);
    // Not frame.length: a transferred array reads as empty.
    this.frame = new Float32Array(this.size);
    this.filled = 0;
  }
}

registerProcessor('duo-capture', DuoCapture);
