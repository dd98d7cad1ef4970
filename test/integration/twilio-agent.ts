/**
 * A voice agent's media endpoint as an app behind Twilio Media Streams implements it, written
 * from Twilio's published message format (not callpeer's builders): a ws server on loopback
 * that records every stream (connected/start/media/mark/stop) and can echo the caller's audio,
 * speak, mark and clear. µ-law through media/g711 (tested against sox).
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { mulawEncode } from '../../src/media/g711.js';
import { ToneFrames } from '../../src/media/frames.js';

export interface AgentStream {
  ws: WebSocket;
  /** Every message from the bridge, in order, with when it arrived. */
  messages: { m: any; at: number }[];
  streamSid: string | undefined;
  start: any;
  closed: boolean;
}

export class TwilioAgent {
  readonly streams: AgentStream[] = [];
  private readonly wss: WebSocketServer;
  /** Echo each inbound media payload straight back (the echo agent). */
  echo = false;

  private constructor(wss: WebSocketServer) {
    this.wss = wss;
    wss.on('connection', (ws) => {
      const s: AgentStream = { ws, messages: [], streamSid: undefined, start: undefined, closed: false };
      this.streams.push(s);
      ws.on('close', () => { s.closed = true; });
      ws.on('message', (data: Buffer) => {
        const m = JSON.parse(data.toString());
        s.messages.push({ m, at: Date.now() });
        if (m.event === 'start') { s.streamSid = m.start.streamSid; s.start = m.start; }
        if (m.event === 'media' && this.echo) ws.send(JSON.stringify({ event: 'media', streamSid: s.streamSid, media: { payload: m.media.payload } }));
      });
    });
  }

  static async listen(): Promise<TwilioAgent> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    return new TwilioAgent(wss);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/media`;
  }

  get last(): AgentStream {
    const s = this.streams.at(-1);
    if (!s) throw new Error('no stream yet');
    return s;
  }

  events(s: AgentStream, event: string): any[] {
    return s.messages.filter((x) => x.m.event === event).map((x) => x.m);
  }

  /** `ms` of a tone as media messages, sent at once (as a TTS agent does), 20 ms each. */
  say(s: AgentStream, hz: number, ms: number): void {
    const tone = new ToneFrames(hz, 8000);
    for (let i = 0; i < ms / 20; i++) {
      const payload = Buffer.from(mulawEncode(tone.nextFrame()!)).toString('base64');
      s.ws.send(JSON.stringify({ event: 'media', streamSid: s.streamSid, media: { payload } }));
    }
  }

  mark(s: AgentStream, name: string): void {
    s.ws.send(JSON.stringify({ event: 'mark', streamSid: s.streamSid, mark: { name } }));
  }

  clear(s: AgentStream): void {
    s.ws.send(JSON.stringify({ event: 'clear', streamSid: s.streamSid }));
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}
