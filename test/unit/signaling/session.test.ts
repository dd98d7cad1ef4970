/** The /ws session and its handlers over a fake socket: no network, the real rooms. */
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { loadServeConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';
import { MeshRelay } from '../../../src/rooms/mesh-relay.js';
import { RoomRegistry } from '../../../src/rooms/registry.js';
import { ServerMetrics } from '../../../src/server/metrics.js';
import type { SignalingContext } from '../../../src/signaling/context.js';
import { SignalingSession } from '../../../src/signaling/session.js';

/** Enough of a `ws` socket for the session: frames in, JSON out, close. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly out: any[] = [];
  closedWith: number | undefined;
  send(text: string): void { this.out.push(JSON.parse(text)); }
  ping(): void {}
  terminate(): void { this.finish(1006); }
  close(code: number): void { this.finish(code); }
  /** The client sends a text frame. */
  frame(msg: unknown): void { this.emit('message', Buffer.from(JSON.stringify(msg)), false); }
  types(): string[] { return this.out.map((m) => m.type); }
  private finish(code: number): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.closedWith = code;
    this.emit('close', code, Buffer.alloc(0));
  }
}

function setup(slowJoin?: Promise<void>) {
  const lines: any[] = [];
  const destination = new Writable({ write(chunk, _e, done) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); done(); } });
  const log = createLogger({ level: 'debug', pretty: false, destination });
  const config = loadServeConfig({ maxMembers: 2 }, {});
  const rooms = new RoomRegistry({ log, maxMembers: 2, media: (room) => new MeshRelay(room) });
  const closed: SignalingSession[] = [];
  const ctx: SignalingContext = {
    config, rooms, metrics: new ServerMetrics(), log, joinTimeoutMs: 60_000, sessionClosed: (s) => closed.push(s),
    // A join answered only once `slowJoin` settles (a room on another node: its `joined` and
    // the client's replies may come before the join's own answer).
    join: async (roomId, sink, request, token) => {
      const member = rooms.join(roomId, sink, request, token);
      if (slowJoin && request.id !== 'id1') await slowJoin;
      return member;
    },
  };
  let n = 0;
  const session = () => {
    const ws = new FakeSocket();
    const s = new SignalingSession(ws as unknown as WebSocket, ctx, `id${++n}`);
    return { ws, s };
  };
  return { session, rooms, lines, closed };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('SignalingSession', () => {
  it('join answers joined; the member logs as a child of its room (room and peer, once each)', async () => {
    const { session, lines } = setup();
    const { ws, s } = session();
    ws.frame({ type: 'join', room: 'r1', name: 'Ann' });
    await tick();
    expect(ws.out[0]).toMatchObject({ type: 'joined', id: 'id1', room: { id: 'r1' } });
    expect(s.member?.roomId).toBe('r1');
    s.log.info('hello');
    const hello = lines.find((l) => l.msg === 'hello');
    expect(hello).toMatchObject({ room: 'r1', peer: 'id1' });
  });

  it('messages that come while a join is on its way are handled once it settles, in order; a refused join answers them NOT_IN_ROOM', async () => {
    let open!: () => void;
    const { session } = setup(new Promise<void>((r) => { open = r; }));
    const ann = session();
    ann.ws.frame({ type: 'join', room: 'r', name: 'Ann' });
    await tick();
    const ben = session();
    ben.ws.frame({ type: 'join', room: 'r', name: 'Ben' });
    await tick();
    expect(ben.ws.types()).toEqual(['joined']); // the room said so; the join has not come back yet
    ben.ws.frame({ type: 'chat', text: 'one' });
    ben.ws.frame({ type: 'chat', text: 'two' });
    await tick();
    expect(ben.ws.types()).toEqual(['joined']); // held, not refused
    open();
    await tick();
    expect(ann.ws.out.filter((m) => m.type === 'chat').map((m) => m.text)).toEqual(['one', 'two']);
    expect(ben.ws.types()).not.toContain('error');
    // Full room (2): the third join is refused, and what it sent meanwhile is answered NOT_IN_ROOM.
    const cy = session();
    cy.ws.frame({ type: 'join', room: 'r', name: 'Cy' });
    cy.ws.frame({ type: 'chat', text: 'three' });
    for (let i = 0; i < 5; i++) await tick();
    expect(cy.ws.out.filter((m) => m.type === 'error').map((m) => m.code)).toEqual(['ROOM_FULL', 'NOT_IN_ROOM']);
  });

  it('a second join while the first is on its way answers ALREADY_JOINED', async () => {
    const { session } = setup();
    const { ws } = session();
    ws.frame({ type: 'join', room: 'r' });
    ws.frame({ type: 'join', room: 'r' });
    await tick();
    expect(ws.types()).toEqual(['joined', 'error']);
    expect(ws.out[1]).toMatchObject({ code: 'ALREADY_JOINED', ref: 'join' });
  });

  it('a socket that closes while its join is on its way does not stay in the room', async () => {
    const { session, rooms } = setup();
    const { ws } = session();
    ws.frame({ type: 'join', room: 'gone' });
    ws.close(1000); // before the registry answered
    await tick();
    expect(rooms.get('gone')).toBeUndefined();
  });

  it('a refused join (ROOM_FULL) is answered with the room\'s code and the socket stays', async () => {
    const { session } = setup();
    for (let i = 0; i < 2; i++) session().ws.frame({ type: 'join', room: 'full' });
    await tick();
    const { ws, s } = session();
    ws.frame({ type: 'join', room: 'full' });
    await tick();
    expect(ws.out[0]).toMatchObject({ type: 'error', code: 'ROOM_FULL', ref: 'join' });
    expect(s.member).toBeUndefined();
    expect(ws.closedWith).toBeUndefined();
  });

  it('leave takes the member out (peer-left to the others) and the socket can join again with the same id', async () => {
    const { session } = setup();
    const a = session();
    const b = session();
    a.ws.frame({ type: 'join', room: 'r' });
    b.ws.frame({ type: 'join', room: 'r' });
    await tick();
    a.ws.frame({ type: 'leave' });
    expect(a.s.member).toBeUndefined();
    expect(b.ws.out.at(-1)).toEqual({ type: 'peer-left', id: 'id1' });
    a.ws.frame({ type: 'join', room: 'r' });
    await tick();
    expect(a.ws.out.at(-1)).toMatchObject({ type: 'joined', id: 'id1' });
  });

  it('messages that need a room answer NOT_IN_ROOM before join', async () => {
    const { session } = setup();
    const { ws } = session();
    for (const m of [{ type: 'chat', text: 'x' }, { type: 'subscribe', publisher: 'p', track: 'audio' }, { type: 'layer', track: 't', quality: 'low' }]) ws.frame(m);
    expect(ws.out.map((m) => [m.code, m.ref])).toEqual([['NOT_IN_ROOM', 'chat'], ['NOT_IN_ROOM', 'subscribe'], ['NOT_IN_ROOM', 'layer']]);
  });

  it('a closed socket leaves its room and is reported to the server once', async () => {
    const { session, closed } = setup();
    const a = session();
    const b = session();
    a.ws.frame({ type: 'join', room: 'r' });
    b.ws.frame({ type: 'join', room: 'r' });
    await tick();
    a.ws.terminate();
    a.ws.terminate();
    expect(b.ws.out.at(-1)).toEqual({ type: 'peer-left', id: 'id1' });
    expect(closed).toEqual([a.s]);
  });
});
