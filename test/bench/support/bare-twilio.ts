/**
 * The floor under the PCM gateway's Twilio legs (pcm-gateway.bench.ts): a bare `ws` server
 * that speaks just enough of Twilio Media Streams to move the same messages. Per leg it parses
 * each text frame (JSON, then the base64 payload of `media`, as any server must to read the
 * audio) and, every 20 ms, sends one `media` message of 160 bytes back: the latest chunk of
 * another leg (the first speaker's; the first speaker gets the second's). No validation, no
 * µ-law, no resampling, no Opus, no mixing, no queue, no metrics.
 */
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { twilioMedia } from '../../../src/protocol/twilio.js';
import { Pacer } from '../../../src/time/pacer.js';

interface Leg { ws: WebSocket; sid: string | undefined; said: Uint8Array }

const SILENCE = new Uint8Array(160).fill(0xff);

/** Starts the server on 127.0.0.1; resolves with its /ws URL (as server-child.ts reports every kind's). */
export async function startBareTwilio(): Promise<string> {
  const rooms = new Map<string, { legs: Leg[]; pacer: Pacer }>();
  const server = http.createServer();
  const wss = new WebSocketServer({ server, path: '/ws/twilio' });
  wss.on('connection', (ws, req) => {
    const roomId = new URL(req.url ?? '/', 'http://x').searchParams.get('room') ?? '';
    let room = rooms.get(roomId);
    if (!room) {
      const legs: Leg[] = [];
      const pacer = new Pacer(() => {
        for (const leg of legs) {
          if (leg.sid === undefined) continue;
          const from = legs[0] === leg ? legs[1] : legs[0];
          leg.ws.send(twilioMedia(leg.sid, from?.said ?? SILENCE));
        }
      });
      room = { legs, pacer };
      rooms.set(roomId, room);
      pacer.start();
    }
    const leg: Leg = { ws, sid: undefined, said: SILENCE };
    room.legs.push(leg);
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString());
      if (m.event === 'media') leg.said = Buffer.from(m.media.payload, 'base64');
      else if (m.event === 'start') leg.sid = m.start.streamSid;
    });
    ws.on('close', () => {
      const r = rooms.get(roomId);
      if (!r) return;
      r.legs.splice(r.legs.indexOf(leg), 1);
      if (r.legs.length === 0) { r.pacer.stop(); rooms.delete(roomId); }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(server.address() as { port: number }).port}/ws`;
}
