/**
 * Join/leave cycles against a `callpeer serve` in its own process, and what the process holds
 * after them: open descriptors, UDP sockets, threads, RSS, V8 heap, active timers and
 * sockets, and the server's own counts (participants, connections). Shared by the leak test
 * (a short run in `npm test`) and `npm run soak` (the 500 and 1,000 cycles).
 */
import http from 'node:http';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import WebSocket from 'ws';
import { MeshAgent } from '../../src/client/mesh-agent.js';
import { SfuAgent } from '../../src/client/sfu-agent.js';
import { BenchServer } from '../bench/support/child.js';
import { parseMetrics } from '../helpers/metrics.js';

export const PEER = { bindAddress: '127.0.0.1' };

export interface Holdings {
  fds: number;
  udpSockets: number;
  threads: number;
  rssMb: number;
  heapUsedMb: number;
  /** process.getActiveResourcesInfo() of the server by type (Timeout, TCPSocketWrap, ...). */
  resources: Record<string, number>;
  participants: number;
  wsConnections: number;
  rtcPeers: number;
  /** Live objects of the constructors that make up a call (heap snapshot after a GC). */
  objects: Record<string, number>;
}

/**
 * What a member, a connection or a call is made of: none may outlive them. Timers are checked
 * as active resources (Holdings.resources): a Timeout object can outlive its firing in a
 * closure for a while, and counting those failed a busy CI run by one.
 */
export const CALL_OBJECTS = [
  'Peer', 'MediaTrack', 'Track', 'PeerConnection', 'Publication', 'Subscription', 'Member', 'SignalingSession',
  'WebSocket', 'PcmPeer', 'Socket',
];

export interface LeakServer {
  base: string;
  wsUrl: string;
  pid: number;
  holdings(): Promise<Holdings>;
  stop(): Promise<void>;
}

/** The server in a child process ('callpeer': mesh rooms; 'sfu': SFU rooms, media on loopback), collected before each reading. */
export async function startLeakServer(kind: 'callpeer' | 'sfu'): Promise<LeakServer> {
  const server = await BenchServer.start(kind);
  const wsUrl = server.url;
  const base = wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, '');
  const pid = server.child.pid!;
  return {
    base,
    wsUrl,
    pid,
    async holdings() {
      const objects = countObjects(await snapshot(server), CALL_OBJECTS);
      const { mem } = await server.stats(true);
      const metrics = parseMetrics(await getClosing(`${base}/metrics`));
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const sockets = new Set<string>();
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
          if (m) sockets.add(m[1]!);
        } catch { /* closed while listed */ }
      }
      const udpInodes = ['udp', 'udp6'].flatMap((f) => readFileSync(`/proc/${pid}/net/${f}`, 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/)[9]).filter(Boolean));
      const resources: Record<string, number> = {};
      for (const [k, v] of metrics) {
        const m = /^callpeer_nodejs_active_resources\{type="([^"]+)"\}$/.exec(k);
        if (m) resources[m[1]!] = v;
      }
      return {
        fds: readdirSync(`/proc/${pid}/fd`).length,
        udpSockets: udpInodes.filter((i) => sockets.has(i!)).length,
        threads: Number(/Threads:\s+(\d+)/.exec(status)![1]),
        rssMb: mem.rss / 2 ** 20,
        heapUsedMb: mem.heapUsed / 2 ** 20,
        resources,
        participants: metrics.get('callpeer_participants') ?? NaN,
        wsConnections: [...metrics].filter(([k]) => k.startsWith('callpeer_ws_connections{')).reduce((n, [, v]) => n + v, 0),
        rtcPeers: metrics.get('callpeer_rtc_peer_connections') ?? NaN,
        objects,
      };
    },
    async stop() {
      const exited = new Promise((r) => server.child.once('exit', r));
      server.stop();
      await exited;
    },
  };
}

function snapshot(server: BenchServer): Promise<string> {
  return new Promise((resolve) => {
    server.child.once('message', (m: { path: string }) => resolve(m.path));
    server.child.send({ cmd: 'heap-snapshot' });
  });
}

/** Objects by constructor name in a V8 heap snapshot (then deleted). */
function countObjects(file: string, names: readonly string[]): Record<string, number> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  rmSync(file);
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const objectType = snap.snapshot.meta.node_types[0].indexOf('object');
  const wanted = new Set(names);
  const counts: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (let i = 0; i < snap.nodes.length; i += width) {
    if (snap.nodes[i + typeAt] !== objectType) continue;
    const name = snap.strings[snap.nodes[i + nameAt]!]!;
    if (wanted.has(name)) counts[name]!++;
  }
  return counts;
}

/** GET on a connection of its own that the server closes after answering: none stays open to count. */
function getClosing(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** One SFU member joins `room` with a microphone, waits for its media connection, and leaves. */
export async function sfuCycle(wsUrl: string, room: string): Promise<void> {
  const agent = new SfuAgent({ wsUrl, room, name: 'cycle', audio: true, video: false, peer: PEER });
  const connected = new Promise<void>((resolve) => agent.once('connected', () => resolve()));
  await agent.start();
  await connected;
  await agent.close();
}

/** One mesh member joins `room` (where `steady` is), connects to it peer to peer, and leaves. */
export async function meshCycle(wsUrl: string, room: string): Promise<void> {
  const agent = new MeshAgent({ wsUrl, room, name: 'cycle', peer: PEER });
  const connected = new Promise<void>((resolve) => agent.once('connected', () => resolve()));
  await agent.start();
  await connected;
  await agent.close();
}

/** A /ws/pcm pair connects, pairs, exchanges one frame, and disconnects. */
export async function pcmCycle(base: string, code: string): Promise<void> {
  const url = `${base.replace(/^http/, 'ws')}/ws/pcm?pair=${code}`;
  const [a, b] = [new WebSocket(url), new WebSocket(url)];
  const connected = (ws: WebSocket) => new Promise<void>((resolve) => ws.on('message', (d, binary) => { if (!binary && JSON.parse(d.toString()).type === 'connected') resolve(); }));
  await Promise.all([connected(a), connected(b)]);
  const got = new Promise<void>((resolve) => b.on('message', (_d, binary) => { if (binary) resolve(); }));
  a.send(Buffer.alloc(640));
  await got;
  await Promise.all([a, b].map((ws) => new Promise((r) => { ws.once('close', r); ws.close(); })));
}
