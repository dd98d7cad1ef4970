// The page's /ws/pcm socket: opens it with the codec, rate and invite code, hands on JSON
// messages and audio frames, and reopens it with backoff when it drops unexpectedly.

/** Reconnect delays grow 0.5 s, 1 s, 2 s ... up to this. */
const MAX_BACKOFF_MS = 8000;
/** The server's close code for a refusal another attempt would only repeat (bad parameters, pair code taken). */
const CLOSE_POLICY = 1008;

export function pcmSocketUrl({ codec, rate, pair, token }, loc = location) {
  const q = new URLSearchParams({ codec, rate: String(rate) });
  if (pair) q.set('pair', pair);
  if (token) q.set('token', token);
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws/pcm?${q}`;
}

export class DuoConnection {
  /**
   * @param {object} o
   * @param {() => string} o.url the socket URL, read again at each attempt
   * @param {(msg: object) => void} o.message a JSON message from the server
   * @param {(frame: ArrayBuffer) => void} o.audio a binary frame from the partner
   * @param {() => void} o.opened the socket is open (send the mute state again)
   * @param {(retry: {inMs: number, attempt: number} | null, error: {code: string, message: string} | null) => void} o.lost
   *   the socket closed unexpectedly: `retry` says when the next attempt is, or null when the
   *   page gives up because of `error`
   */
  constructor(o) {
    this.o = o;
    this.ws = undefined;
    this.timer = undefined;
    this.attempt = 0;
    this.lastError = null;
    this.reconnects = 0;
  }

  get open() { return this.ws?.readyState === WebSocket.OPEN; }

  /** Backpressure: bytes the browser has not sent yet. */
  get buffered() { return this.ws?.bufferedAmount ?? 0; }

  connect() {
    this.stop();
    this.lastError = null;
    const ws = new WebSocket(this.o.url());
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => this.o.opened();
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string') return this.o.audio(e.data);
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (msg.type === 'error') this.lastError = { code: String(msg.code), message: String(msg.message) };
      // Paired or queued again: the link works, so a later drop starts the backoff afresh.
      if (msg.type === 'waiting' || msg.type === 'connected') this.attempt = 0;
      this.o.message(msg);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      const err = this.lastError;
      if (e.code === CLOSE_POLICY) return this.o.lost(null, err ?? { code: 'REFUSED', message: e.reason || 'the server refused the connection' });
      const inMs = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
      this.attempt++;
      this.timer = setTimeout(() => { this.reconnects++; this.connect(); }, inMs);
      this.o.lost({ inMs, attempt: this.attempt }, err);
    };
  }

  send(data) {
    if (this.open) this.ws.send(data);
  }

  /** Closes on purpose: no reconnect. */
  stop() {
    clearTimeout(this.timer);
    this.timer = undefined;
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.onclose = null;
      ws.close(1000);
    }
  }
}
