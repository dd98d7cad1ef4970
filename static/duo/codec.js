// The two wire formats of /ws/pcm as seen from the page: 20 ms float frames in, bytes out, and
// back. PCM is Int16 little-endian; Opus goes through WebCodecs, one packet per frame.

const OPUS_BITRATE = 32_000;

/** Whether this browser can encode and decode Opus at `sampleRate` (WebCodecs, secure context). */
export async function opusAvailable(sampleRate) {
  if (typeof AudioEncoder !== 'function' || typeof AudioDecoder !== 'function') return false;
  try {
    const config = { codec: 'opus', sampleRate, numberOfChannels: 1 };
    const [enc, dec] = await Promise.all([
      AudioEncoder.isConfigSupported({ ...config, bitrate: OPUS_BITRATE }),
      AudioDecoder.isConfigSupported(config),
    ]);
    return enc.supported === true && dec.supported === true;
  } catch {
    return false;
  }
}

export function floatToInt16Bytes(frame) {
  const out = new ArrayBuffer(frame.length * 2);
  const view = new DataView(out);
  for (let i = 0; i < frame.length; i++) {
    const s = Math.max(-1, Math.min(1, frame[i]));
    view.setInt16(i * 2, Math.round(s * 32767), true);
  }
  return out;
}

export function int16BytesToFloat(buf) {
  const view = new DataView(buf);
  const out = new Float32Array(buf.byteLength >> 1);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true) / 32768;
  return out;
}

/**
 * Encodes and decodes one session's audio. `send(bytes)` gets each outgoing frame;
 * `play(float32)` each decoded incoming one. `errors` counts frames that could not be coded,
 * `skipped` frames dropped because the codec lagged behind real time.
 */
export function createCodec(kind, { sampleRate, send, play }) {
  return kind === 'opus' ? new OpusCodec(sampleRate, send, play) : new PcmCodec(send, play);
}

class PcmCodec {
  constructor(send, play) {
    this.send = send;
    this.play = play;
    this.errors = 0;
    this.skipped = 0;
  }

  encode(frame) { this.send(floatToInt16Bytes(frame)); }

  decode(buf) {
    if (buf.byteLength % 2 === 0) this.play(int16BytesToFloat(buf));
    else this.errors++;
  }

  close() {}
}

/** Encoder or decoder work queued beyond this many frames is dropped: audio is real time. */
const MAX_QUEUE = 10;

class OpusCodec {
  constructor(sampleRate, send, play) {
    this.sampleRate = sampleRate;
    this.send = send;
    this.play = play;
    this.errors = 0;
    this.skipped = 0;
    this.encodedUs = 0;
    this.decodedUs = 0;
    this.encoder = undefined;
    this.decoder = undefined;
  }

  encode(frame) {
    const enc = this.encoder ?? this.openEncoder();
    if (enc.encodeQueueSize > MAX_QUEUE) return void this.skipped++;
    const data = new AudioData({ format: 'f32', sampleRate: this.sampleRate, numberOfFrames: frame.length, numberOfChannels: 1, timestamp: this.encodedUs, data: frame });
    this.encodedUs += (frame.length / this.sampleRate) * 1e6;
    enc.encode(data);
    data.close();
  }

  decode(buf) {
    const dec = this.decoder ?? this.openDecoder();
    if (dec.decodeQueueSize > MAX_QUEUE) return void this.skipped++;
    // Every Opus packet decodes on its own, so each is a key chunk.
    dec.decode(new EncodedAudioChunk({ type: 'key', timestamp: this.decodedUs, data: buf }));
    this.decodedUs += 20_000;
  }

  close() {
    for (const c of [this.encoder, this.decoder]) if (c && c.state !== 'closed') c.close();
    this.encoder = undefined;
    this.decoder = undefined;
  }

  openEncoder() {
    const enc = new AudioEncoder({
      output: (chunk) => {
        const bytes = new ArrayBuffer(chunk.byteLength);
        chunk.copyTo(bytes);
        this.send(bytes);
      },
      // A failed codec is closed by the browser: count it and open a new one on the next frame.
      error: () => { this.errors++; this.encoder = undefined; },
    });
    enc.configure({ codec: 'opus', sampleRate: this.sampleRate, numberOfChannels: 1, bitrate: OPUS_BITRATE, opus: { frameDuration: 20_000 } });
    this.encoder = enc;
    return enc;
  }

  openDecoder() {
    const dec = new AudioDecoder({
      output: (data) => {
        const out = new Float32Array(data.numberOfFrames);
        data.copyTo(out, { planeIndex: 0, format: 'f32-planar' });
        data.close();
        this.play(out);
      },
      error: () => { this.errors++; this.decoder = undefined; },
    });
    dec.configure({ codec: 'opus', sampleRate: this.sampleRate, numberOfChannels: 1 });
    this.decoder = dec;
    return dec;
  }
}
