import { describe, expect, it } from 'vitest';
import { SignalingClient } from '../../src/client/signaling-client.js';
import { CallpeerError } from '../../src/errors.js';
import { startTestServer } from '../helpers/server.js';

describe('SignalingClient', () => {
  it('joins, sees peers come and go, chats and pings', async () => {
    const server = await startTestServer();
    const a = new SignalingClient(server.wsUrl);
    const b = new SignalingClient(server.wsUrl);
    await a.connect();
    await b.connect();
    const ja = await a.join({ room: 'c1', name: 'A' });
    const joinedEvent = new Promise((r) => a.once('peer-joined', r));
    const jb = await b.join({ room: 'c1', name: 'B' });
    expect(await joinedEvent).toMatchObject({ id: jb.id, name: 'B' });
    const chat = new Promise((r) => b.once('chat', r));
    a.chat('hi');
    expect(await chat).toMatchObject({ from: ja.id, name: 'A', text: 'hi' });
    expect(await a.ping()).toBeGreaterThanOrEqual(0);
    const left = new Promise((r) => a.once('peer-left', r));
    await b.close();
    expect(await left).toBe(jb.id);
    await a.close();
    await server.close();
  });

  it('reports media changes as peer-updated and unclaimed refusals as server-error', async () => {
    const server = await startTestServer();
    const a = new SignalingClient(server.wsUrl);
    const b = new SignalingClient(server.wsUrl);
    await a.connect();
    await b.connect();
    await a.join({ room: 'c2', name: 'A' });
    const jb = await b.join({ room: 'c2', name: 'B' });
    const updated = new Promise((r) => a.once('peer-updated', r));
    b.media({ audio: true, screen: true });
    expect(await updated).toMatchObject({ id: jb.id, audio: true, screen: true, video: false });
    const refused = new Promise((r) => a.once('server-error', r));
    a.offer('nobody', 'v=0\r\n');
    expect(await refused).toMatchObject({ type: 'error', code: 'PEER_NOT_FOUND', ref: 'offer' });
    await a.close();
    await b.close();
    await server.close();
  });

  it('rejects join with the server error code', async () => {
    const server = await startTestServer({ maxMembers: 1 });
    const a = new SignalingClient(server.wsUrl);
    const b = new SignalingClient(server.wsUrl);
    await a.connect();
    await b.connect();
    await a.join({ room: 'full' });
    await expect(b.join({ room: 'full' })).rejects.toMatchObject({ code: 'ROOM_FULL' });
    await a.close();
    await b.close();
    await server.close();
  });

  it('connect to a server that is not there rejects with CONNECTION_FAILED and does not retry', async () => {
    const server = await startTestServer();
    const url = server.wsUrl;
    await server.close();
    const c = new SignalingClient(url);
    const err = await c.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallpeerError);
    expect((err as CallpeerError).code).toBe('CONNECTION_FAILED');
    await c.close();
  });

  it('reconnects with backoff and re-joins its room when the server comes back on the same port', async () => {
    const first = await startTestServer();
    const port = first.port;
    const c = new SignalingClient(first.wsUrl, { minBackoffMs: 50, maxBackoffMs: 200 });
    await c.connect();
    const j1 = await c.join({ room: 'phoenix', name: 'Bot', role: 'bot' });
    const disconnected = new Promise<{ code: number }>((r) => c.once('disconnected', r));
    await first.close();
    expect((await disconnected).code).toBe(1001);
    // a few failed attempts while nothing listens
    await new Promise((r) => setTimeout(r, 300));
    const second = await startTestServer({ port });
    const rejoined = await new Promise<any>((resolve) => c.once('rejoined', resolve));
    expect(rejoined.room.id).toBe('phoenix');
    expect(rejoined.id).not.toBe(j1.id);
    expect(second.rooms.get('phoenix')?.participants().map((p) => p.name)).toEqual(['Bot']);
    await c.close();
    await second.close();
  });

  it('close rejects a pending join with CLOSED instead of hanging', async () => {
    const server = await startTestServer();
    const c = new SignalingClient(server.wsUrl);
    await c.connect();
    const pending = c.join({ room: 'x' });
    const closing = c.close(); // before any answer can arrive
    await expect(pending).rejects.toMatchObject({ code: 'CLOSED' });
    await closing;
    await server.close();
  });
});
