/** MeshAgent: a Node mesh member over real signaling and node-datachannel on loopback. */
import { describe, expect, it } from 'vitest';
import { MeshAgent } from '../../src/client/mesh-agent.js';
import { toNdcIceServers } from '../../src/rtc/ice-servers.js';
import { joinRoom } from '../../src/client/room-agent.js';
import { SfuAgent } from '../../src/client/sfu-agent.js';
import { useTestServer } from '../helpers/server.js';

const PEER = { bindAddress: '127.0.0.1' };
const ctx = useTestServer({}, { rtc: true });

const waitFor = <T>(agent: MeshAgent, event: 'connected' | 'peer-closed', timeoutMs = 8000) => new Promise<T>((resolve, reject) => {
  const t = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
  agent.once(event, (...args: unknown[]) => { clearTimeout(t); resolve(args as T); });
});

describe('MeshAgent', () => {
  it('the newcomer offers to everyone present and all three connect', async () => {
    const a = new MeshAgent({ wsUrl: ctx.server.wsUrl, room: 'three', name: 'a', peer: PEER });
    const b = new MeshAgent({ wsUrl: ctx.server.wsUrl, room: 'three', name: 'b', peer: PEER });
    const c = new MeshAgent({ wsUrl: ctx.server.wsUrl, room: 'three', name: 'c', peer: PEER });
    const initiators: boolean[] = [];
    c.on('peer', (_r, { initiator }) => initiators.push(initiator));
    await a.start();
    await b.start();
    await c.start();
    expect(initiators).toEqual([true, true]);
    const deadline = Date.now() + 8000;
    while ([a, b, c].some((x) => x.peers().filter((r) => r.peer.connected).length < 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const x of [a, b, c]) expect(x.peers().filter((r) => r.peer.connected).map((r) => r.participant.name).sort()).toHaveLength(2);
    for (const x of [a, b, c]) await x.close();
  });

  it('a connection that fails is made again by the side that offered, and the other side follows', async () => {
    const a = new MeshAgent({ wsUrl: ctx.server.wsUrl, room: 'retry', name: 'a', peer: PEER });
    await a.start();
    const b = new MeshAgent({ wsUrl: ctx.server.wsUrl, room: 'retry', name: 'b', peer: PEER });
    const connected = waitFor(b, 'connected');
    await b.start();
    const [first] = await connected as [{ peer: { close(r: string): void; id: string } }];
    // The first connection fails on b's side only (as when a DTLS handshake is refused):
    const closed = waitFor<[unknown, string]>(b, 'peer-closed');
    first.peer.close('failed');
    expect((await closed)[1]).toBe('failed');
    // b offers a new connection; a sees new ICE credentials and replaces its old one.
    const [again] = await waitFor<[{ peer: unknown }]>(b, 'connected');
    expect(again.peer).not.toBe(first.peer);
    const deadline = Date.now() + 5000;
    while (!(a.peers()[0]?.peer.connected) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(a.peers()).toHaveLength(1);
    expect(a.peers()[0]!.peer.connected).toBe(true);
    await a.close();
    await b.close();
  });

  it('joinRoom picks the mesh agent for a mesh room and it connects; SfuAgent.start refuses a mesh room', async () => {
    const a = new MeshAgent({ wsUrl: ctx.server.wsUrl, room: 'join-mesh', name: 'a', peer: PEER });
    await a.start();
    const initiators: boolean[] = [];
    const { agent, joined } = await joinRoom({ wsUrl: ctx.server.wsUrl, room: 'join-mesh', name: 'b', peer: PEER }, (x) => {
      (x as MeshAgent).on('peer', (_r, { initiator }) => initiators.push(initiator));
    });
    expect(joined.room.topology).toBe('mesh');
    expect(agent).toBeInstanceOf(MeshAgent);
    expect(initiators).toEqual([true]);
    await waitFor(agent as MeshAgent, 'connected');
    const sfu = new SfuAgent({ wsUrl: ctx.server.wsUrl, room: 'join-mesh', name: 'c', peer: PEER });
    await expect(sfu.start()).rejects.toMatchObject({ code: 'SFU_NOT_ENABLED' });
    await agent.close();
    await a.close();
  });

  it('gives up after five failed attempts', async () => {
    const a = new MeshAgent({ wsUrl: ctx.server.wsUrl, room: 'doomed', name: 'a', peer: PEER });
    await a.start();
    const b = new MeshAgent({ wsUrl: ctx.server.wsUrl, room: 'doomed', name: 'b', peer: PEER });
    let attempts = 0;
    // Every connection b makes fails at once.
    b.on('peer', (remote) => { attempts++; setImmediate(() => remote.peer.close('failed')); });
    await b.start();
    await new Promise((r) => setTimeout(r, 4500)); // 100 + 250 + 500 + 1000 + 2000 ms of backoff
    expect(attempts).toBe(6); // the first try and five retries
    expect(b.peers()).toEqual([]);
    await a.close();
    await b.close();
  });

  it('turns RTCIceServer entries into node-datachannel URLs with credentials', () => {
    expect(toNdcIceServers({ urls: ['stun:s:3478', 'turn:t:3478?transport=udp'], username: 'u@x', credential: 'p:w' }))
      .toEqual(['stun:s:3478', 'turn:u%40x:p%3Aw@t:3478?transport=udp']);
  });
});
