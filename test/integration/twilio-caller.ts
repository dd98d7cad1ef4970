/**
 * A phone call as Twilio Media Streams streams it to an app, written from Twilio's published
 * message format ("Media Streams - WebSocket Messages"), not from callpeer's builders: the
 * messages below are spelled out field by field. Audio is µ-law (G.711, tested against sox in
 * test/unit/media/g711.test.ts) at 8 kHz in 20 ms chunks of 160 bytes.
 */
import WebSocket from 'ws';
import { mulawDecode, mulawEncode } from '../../src/media/g711.js';
import { ToneFrames } from '../../src/media/frames.js';
import { until } from './pcm-harness.js';

export interface ReceivedMedia { streamSid: string; payload: Buffer; at: number }

export class TwilioCaller {
  readonly ws: WebSocket;
  readonly streamSid = `MZ${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}`;
  readonly callSid = `CA${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}`;
  /** Every JSON message callpeer sent, in order. */
  readonly messages: any[] = [];
  readonly media: ReceivedMedia[] = [];
  readonly binaryFrames: Buffer[] = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly closed: Promise<number>;
  private seq = 1;
  private chunk = 1;
  private timestamp = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) { this.binaryFrames.push(data); return; }
      const m = JSON.parse(data.toString());
      this.messages.push(m);
      if (m.event === 'media') this.media.push({ streamSid: m.streamSid, payload: Buffer.from(m.media.payload, 'base64'), at: Date.now() });
    });
    this.ws.on('error', () => {});
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => { this.closeCode = code; this.closeReason = reason.toString(); resolve(code); }));
  }

  /** Connects to `/ws/twilio?room=…` of a server at `baseUrl` (http://…). */
  static async dial(baseUrl: string, room: string): Promise<TwilioCaller> {
    const c = new TwilioCaller(`${baseUrl.replace(/^http/, 'ws')}/ws/twilio?room=${encodeURIComponent(room)}`);
    await new Promise<void>((resolve, reject) => { c.ws.once('open', () => resolve()); c.ws.once('error', reject); });
    return c;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(text: string): void {
    this.ws.send(text);
  }

  /** `connected` then `start`, as Twilio opens a stream. */
  start(customParameters: Record<string, string>, mediaFormat = { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }): void {
    this.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
    this.send(JSON.stringify({
      event: 'start',
      sequenceNumber: String(this.seq++),
      start: { accountSid: 'AC00000000000000000000000000000000', streamSid: this.streamSid, callSid: this.callSid, tracks: ['inbound'], customParameters, mediaFormat },
      streamSid: this.streamSid,
    }));
  }

  /** One `media` message of the caller's voice. */
  sendChunk(payload: Uint8Array): void {
    this.send(JSON.stringify({
      event: 'media',
      sequenceNumber: String(this.seq++),
      media: { track: 'inbound', chunk: String(this.chunk++), timestamp: String(this.timestamp), payload: Buffer.from(payload).toString('base64') },
      streamSid: this.streamSid,
    }));
    this.timestamp += 20;
  }

  /** Speaks a tone in real time, 20 ms chunks, until `quiet()`. */
  speak(hz: number): void {
    const tone = new ToneFrames(hz, 8000);
    this.timer = setInterval(() => { if (this.isOpen) this.sendChunk(mulawEncode(tone.nextFrame()!)); }, 20);
  }

  quiet(): void {
    clearInterval(this.timer);
  }

  /** `stop`, as Twilio ends a stream when the call hangs up. */
  stop(): void {
    this.quiet();
    this.send(JSON.stringify({ event: 'stop', sequenceNumber: String(this.seq++), streamSid: this.streamSid, stop: { accountSid: 'AC00000000000000000000000000000000', callSid: this.callSid } }));
  }

  errors(): { code: string; message: string }[] {
    return this.messages.filter((m) => m.event === 'error');
  }

  waitForError(n = 1, timeoutMs = 3000): Promise<void> {
    return until(() => this.errors().length >= n, `${n} error message(s) (got ${JSON.stringify(this.messages.filter((m) => m.event !== 'media'))})`, timeoutMs);
  }

  /** The audio received since media index `from`, decoded to 8 kHz samples. */
  heardSince(from: number): Int16Array {
    return mulawDecode(Buffer.concat(this.media.slice(from).map((m) => m.payload)));
  }

  close(): void {
    this.quiet();
    this.ws.close();
  }
}
