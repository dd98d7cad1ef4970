// The /ws signaling connection: JSON frames, and reconnection with backoff when the server goes away.

/** Reconnect delays, ms: quick at first, then every 2.5 s, so a restarted server is found within 3 s. */
const BACKOFF_MS = [500, 1000, 2000, 2500];

/**
 * Events: 'open' (connected, or reconnected: send `join` again), 'message' (detail: a server
 * message), 'down' (detail: {code, reason, retryInMs}): the socket closed and a retry is scheduled.
 */
export class Signaling extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.ws = undefined;
    this.attempt = 0;
    this.stopped = false;
    this.timer = undefined;
  }

  /** 'connecting' | 'open' | 'waiting' (between retries) | 'stopped' */
  get state() {
    if (this.stopped) return 'stopped';
    if (this.ws?.readyState === WebSocket.OPEN) return 'open';
    if (this.ws?.readyState === WebSocket.CONNECTING) return 'connecting';
    return 'waiting';
  }

  connect() {
    this.stopped = false;
    clearTimeout(this.timer);
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.dispatchEvent(new Event('open'));
    };
    ws.onmessage = (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      if (msg && typeof msg.type === 'string') this.dispatchEvent(new CustomEvent('message', { detail: msg }));
    };
    ws.onclose = (e) => {
      if (this.ws !== ws || this.stopped) return;
      const retryInMs = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
      this.attempt++;
      this.timer = setTimeout(() => this.connect(), retryInMs);
      this.dispatchEvent(new CustomEvent('down', { detail: { code: e.code, reason: e.reason, retryInMs } }));
    };
  }

  send(msg) {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Closes for good: no more reconnects. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close(1000, 'bye');
  }
}

/** ws(s)://host/ws for the page's own origin. */
export function signalingUrl(loc = location) {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
}
