/**
 * /ws/pcm across nodes (issue 17). A pair lives on one node, as a room does, and a client whose
 * partner or room is elsewhere has its frames relayed there:
 * - A pair code's home is the node that claimed `pcm:<code>` first (held while the code is in
 *   use there); a client with that code on another node is adopted by the home, which pairs it
 *   (or says PAIR_FULL) as its own.
 * - Clients without a code wait in one queue for the whole cluster (the directory's takeOrWait):
 *   a newcomer takes the oldest waiting client and is adopted by that client's node; with
 *   nobody waiting it is listed and waits on its own node.
 * - A `?room=` client (or a /ws/twilio stream, as the 8 kHz PCM client it is) whose room lives
 *   elsewhere is adopted by the room's node: its AudioLeg lives there, next to the room's media.
 * Adopted, a client is a RelaySocket on the host: its service sees a WebSocket and runs the
 * pair, transcoding and room leg as for a local client; the client's node keeps the real socket
 * (ping, silence, the bounded egress) and relays frames both ways as binary bus frames
 * (pcm-frame.ts). A node that dies ends its relayed pairs as a partner leaving does.
 */
import { EventEmitter } from 'node:events';
import { Gauge, type Registry } from 'prom-client';
import type { WebSocket } from 'ws';
import { CallpeerError, isCallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AdoptRequest, PcmDownlink, PcmHost, PcmPairing, PcmUplink, Placement } from '../pcm/pairing.js';
import type { PcmParams } from '../protocol/pcm.js';
import { CLOSE_GOING_AWAY } from '../protocol/close-codes.js';
import type { NodeCalls } from './node-calls.js';
import { readClosePayload, readRelayFrame, RelayKind, writeClosePayload, writeRelayFrame, type RelayFrame } from './pcm-frame.js';
import type { BusPort, ClusterTransport, DirectoryPort } from './ports.js';

export interface ClusterPcmOptions {
  transport: ClusterTransport;
  nodeId: string;
  /** The cluster's requests between nodes (ClusterRooms.calls): `pcm.adopt` is served there. */
  calls: NodeCalls;
  /** The node a room lives on, claimed for the least loaded node if it lives nowhere (ClusterRooms.place). */
  placeRoom: (roomId: string) => Promise<string>;
  log: Logger;
  /** Where `callpeer_pcm_relayed_clients` is registered, if anywhere. */
  registry?: Registry;
  /** How often codes in use are held and peers checked, ms. Default 1000. */
  beatMs?: number;
}

/** The cluster-wide queue of clients without a code. */
const QUEUE = 'pcm';
const codeKey = (code: string): string => `pcm:${code}`;
/** How long an adoption may take, ms: a few ms on a live node; no answer means a node that is stopping or dead. */
const ADOPT_TIMEOUT_MS = 2000;
/** Tries to reach a code's home before giving up (it moves only when its node dies). */
const CODE_TRIES = 3;

interface AdoptCall { link: string; request: AdoptRequest }

/** This node's client hosted elsewhere; `pending` until the host answered the adoption. */
interface Away { node: string; down: PcmDownlink; room: boolean; paired: boolean; pending: boolean }

/** On the host: a client of another node, as the service sees it (a WebSocket that relays). */
class RelaySocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  /** The real socket and its bounded egress are on the client's node. */
  readonly bufferedAmount = 0;

  constructor(private readonly relay: ClusterPcm, readonly node: string, readonly link: string) {
    super();
  }

  send(data: Buffer | string, _options?: unknown, cb?: (err?: Error) => void): void {
    if (this.readyState === this.OPEN) {
      if (typeof data === 'string') this.relay.down(this.node, RelayKind.downText, this.link, Buffer.from(data));
      else this.relay.down(this.node, RelayKind.downAudio, this.link, data);
    }
    cb?.();
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState !== this.OPEN) return;
    this.relay.down(this.node, RelayKind.downClose, this.link, writeClosePayload(code, reason));
    this.ended(code, reason);
  }

  terminate(): void {
    this.close(CLOSE_GOING_AWAY, 'terminated');
  }

  ping(): void {}

  /** Closed from here, or the client is gone (its node said so or died): the service hears 'close'. */
  ended(code: number, reason: string): void {
    if (this.readyState !== this.OPEN) return;
    this.readyState = 3;
    this.relay.forgetHosted(this.link);
    queueMicrotask(() => this.emit('close', code, Buffer.from(reason)));
  }

  /** Handed back to its node: no 'close' (the service already let it go). */
  handedBack(): void {
    this.readyState = 3;
  }
}

export class ClusterPcm implements PcmPairing {
  readonly nodeId: string;
  private host: PcmHost | undefined;
  private readonly log: Logger;
  private readonly directory: DirectoryPort;
  private readonly bus: BusPort;
  /** This node's clients hosted on other nodes, by link (`<this node>/<peer id>`). */
  private readonly away = new Map<string, Away>();
  /** Clients of other nodes hosted here, by link. */
  private readonly hosted = new Map<string, RelaySocket>();
  private readonly beat: NodeJS.Timeout;
  private beating = false;
  /** When the directory started failing (Redis unreachable), else undefined. */
  private failingSince: number | undefined;

  constructor(private readonly options: ClusterPcmOptions) {
    this.nodeId = options.nodeId;
    this.log = options.log.child({ node: options.nodeId, component: 'pcm-cluster' });
    this.directory = options.transport.directory;
    this.bus = options.transport.bus;
    options.calls.serve('pcm.adopt', (args: AdoptCall, from: string) => this.hostAdopt(args, from));
    this.bus.onFrame((frame) => this.receive(frame));
    this.beat = setInterval(() => void this.tick(), options.beatMs ?? 1000);
    this.beat.unref();
    if (options.registry) this.registerMetrics(options.registry);
  }

  private registerMetrics(registry: Registry): void {
    const self = this;
    new Gauge({
      name: 'callpeer_pcm_relayed_clients',
      help: 'PCM clients relayed across nodes: hosted = paired or in a room here with their socket on another node, away = with their socket here and their pair or room on another',
      labelNames: ['side'], registers: [registry],
      collect() {
        this.set({ side: 'hosted' }, self.hosted.size);
        this.set({ side: 'away' }, self.away.size);
      },
    });
  }

  bind(host: PcmHost): void {
    this.host = host;
  }

  async place(peerId: string, params: PcmParams, muted: boolean, down: PcmDownlink, requeued = false): Promise<Placement> {
    const link = `${this.nodeId}/${peerId}`;
    if (params.room !== undefined) {
      for (let tries = 0; ; tries++) {
        const owner = await this.options.placeRoom(params.room);
        if (owner === this.nodeId) return { kind: 'here' };
        try {
          return await this.adoptAt(owner, link, { params, muted }, down, true);
        } catch (err) {
          // Its node died meanwhile: the room is made anew on a live node.
          if (tries > 0 || !isCallpeerError(err, 'PEER_NOT_FOUND')) throw err;
        }
      }
    }
    if (params.pair !== undefined) {
      for (let tries = 0; tries < CODE_TRIES; tries++) {
        const home = await this.directory.claim(codeKey(params.pair), this.nodeId).catch((err: unknown) => this.unreachable(err));
        if (home === this.nodeId || home === undefined) return { kind: 'here' };
        try {
          return await this.adoptAt(home, link, { params, muted, requeued }, down);
        } catch (err) {
          if (!isCallpeerError(err, 'PEER_NOT_FOUND')) throw err; // the code moved meanwhile: again
        }
      }
      throw new CallpeerError('INTERNAL', `pair code "${params.pair}" could not be reached; try again`);
    }
    for (;;) {
      let entry: string | undefined;
      try {
        entry = await this.directory.takeOrWait(QUEUE, link);
      } catch (err) {
        this.unreachable(err);
        return { kind: 'here' };
      }
      if (entry === undefined) return { kind: 'here' }; // listed: waits here
      const cut = entry.lastIndexOf('/');
      const node = entry.slice(0, cut);
      const waiter = entry.slice(cut + 1);
      if (node === this.nodeId) return { kind: 'here', partner: waiter };
      // A dead node's entries stay listed until taken: skipped without waiting for a call to time out.
      const alive = await this.directory.alive(node).catch((err: unknown) => this.unreachable(err));
      if (alive === undefined) return { kind: 'here' };
      if (!alive) continue;
      try {
        return await this.adoptAt(node, link, { params, muted, waiter, requeued }, down);
      } catch (err) {
        if (!isCallpeerError(err, 'PEER_NOT_FOUND')) throw err; // it stopped waiting: the next one
      }
    }
  }

  /** The directory cannot be reached (Redis down): the client pairs among this node's clients meanwhile. */
  private unreachable(err: unknown): undefined {
    this.log.warn({ err }, 'cluster directory unreachable: pcm client pairs on this node only');
    return undefined;
  }

  unlisted(peerId: string): void {
    this.directory.unlist(QUEUE, `${this.nodeId}/${peerId}`).catch((err: unknown) => this.log.debug({ err }, 'pcm queue unlist failed'));
  }

  /** Throws unless `roomId` lives here (claimed here if it lives nowhere): it moved since the client was placed here. */
  async roomHere(roomId: string): Promise<void> {
    const owner = await this.options.placeRoom(roomId);
    if (owner !== this.nodeId) throw new CallpeerError('INTERNAL', `room "${roomId}" moved to another node of the cluster (${owner}); connect again`);
  }

  /** This node is stopping (its service closed): its codes go now, so their clients' next tries land on live nodes. */
  close(): void {
    clearInterval(this.beat);
    for (const code of this.host?.codesInUse() ?? []) {
      this.directory.release(codeKey(code), this.nodeId).catch((err: unknown) => this.log.debug({ err }, 'pcm code release failed'));
    }
  }

  /** @internal A frame for a client hosted here, to its node. */
  down(node: string, kind: RelayKind, link: string, payload?: Uint8Array): void {
    this.bus.sendFrame(node, writeRelayFrame(kind, link, payload));
  }

  /** @internal */
  forgetHosted(link: string): void {
    this.hosted.delete(link);
  }

  /** Asks `node` to host this client; its frames are routed to `down` from now on. */
  private async adoptAt(node: string, link: string, request: AdoptRequest, down: PcmDownlink, room = false): Promise<Placement> {
    // Registered before the call: the host's first frames (`waiting`, `connected`) come before its reply.
    const away: Away = { node, down, room, paired: false, pending: true };
    this.away.set(link, away);
    try {
      await this.options.calls.call(node, 'pcm.adopt', { link, request } satisfies AdoptCall, ADOPT_TIMEOUT_MS);
    } catch (err) {
      if (this.away.get(link) === away) this.away.delete(link);
      // No answer from a node that died meanwhile: the caller looks elsewhere, as for a client that stopped waiting.
      if (!isCallpeerError(err, 'PEER_NOT_FOUND') && !(await this.directory.alive(node).catch(() => true))) {
        throw new CallpeerError('PEER_NOT_FOUND', `node ${node} is gone`, { cause: err });
      }
      throw err;
    }
    away.pending = false;
    this.log.debug({ link, host: node, room }, 'pcm client relayed to another node');
    const uplink: PcmUplink = {
      forward: (data, isBinary) => this.bus.sendFrame(node, writeRelayFrame(isBinary ? RelayKind.upAudio : RelayKind.upText, link, data)),
      close: () => {
        if (this.away.delete(link)) this.bus.sendFrame(node, writeRelayFrame(RelayKind.upLeft, link));
      },
    };
    return { kind: 'relayed', link: uplink };
  }

  /** `pcm.adopt` from the client's node: the client is hosted here from now on. */
  private async hostAdopt({ link, request }: AdoptCall, from: string): Promise<void> {
    if (!this.host) throw new CallpeerError('INTERNAL', 'no PCM service on this node');
    const { params } = request;
    if (params.pair !== undefined && request.waiter === undefined) {
      // Still the code's home? (It moves only if this node was thought dead.)
      const home = await this.directory.claim(codeKey(params.pair), this.nodeId);
      if (home !== this.nodeId) throw new CallpeerError('PEER_NOT_FOUND', `pair code "${params.pair}" lives on node ${home} now`);
    }
    const socket = new RelaySocket(this, from, link);
    this.hosted.set(link, socket);
    try {
      this.host.adopt(socket as unknown as WebSocket, request, () => {
        this.hosted.delete(link);
        socket.handedBack();
        this.down(from, RelayKind.downReleased, link);
      });
    } catch (err) {
      this.hosted.delete(link);
      // This node is stopping: its codes go now, so the client's node becomes their home.
      if (isCallpeerError(err, 'PEER_NOT_FOUND') && params.pair !== undefined) await this.directory.release(codeKey(params.pair), this.nodeId).catch(() => undefined);
      throw err;
    }
  }

  private receive(frame: Buffer): void {
    try {
      this.dispatch(readRelayFrame(frame));
    } catch (err) {
      this.log.warn({ err }, 'unreadable pcm relay frame');
    }
  }

  private dispatch(f: RelayFrame): void {
    switch (f.kind) {
      case RelayKind.upAudio: this.hosted.get(f.link)?.emit('message', f.payload, true); return;
      case RelayKind.upText: this.hosted.get(f.link)?.emit('message', f.payload, false); return;
      case RelayKind.upLeft: this.hosted.get(f.link)?.ended(1000, 'left'); return;
      case RelayKind.downAudio: this.away.get(f.link)?.down.audio(f.payload); return;
      case RelayKind.downText: {
        const away = this.away.get(f.link);
        if (!away) return;
        const text = f.payload.toString('utf8');
        // Whether it is paired decides what it is told if the host dies (the service writes `type` first).
        if (text.startsWith('{"type":"connected"')) away.paired = true;
        else if (text.startsWith('{"type":"disconnected"')) away.paired = false;
        away.down.text(text);
        return;
      }
      case RelayKind.downClose: {
        const away = this.away.get(f.link);
        this.away.delete(f.link);
        if (!away) return;
        const { code, reason } = readClosePayload(f.payload);
        away.down.close(code, reason);
        return;
      }
      case RelayKind.downReleased: {
        const away = this.away.get(f.link);
        this.away.delete(f.link);
        away?.down.released();
      }
    }
  }

  /** Codes in use here held for another TTL; nodes that host or send our relayed clients checked. */
  private async tick(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      const codes = [...(this.host?.codesInUse() ?? [])].map(codeKey);
      if (codes.length > 0) await this.directory.hold(this.nodeId, codes);
      const peers = new Set<string>();
      for (const a of this.away.values()) peers.add(a.node);
      for (const s of this.hosted.values()) peers.add(s.node);
      for (const node of peers) {
        if (await this.directory.alive(node)) continue;
        this.log.warn({ lost: node }, 'a node with relayed pcm clients is gone');
        this.nodeLost(node);
      }
      this.failingSince = undefined;
    } catch (err) {
      if (this.failingSince === undefined) this.log.warn({ err }, 'pcm cluster beat failed');
      this.failingSince ??= Date.now();
      // No frame crosses while the link is down: past the time a dead node takes to be noticed,
      // relayed clients are cut off as if their partner's node died, and pair on their own node.
      if (Date.now() - this.failingSince >= this.directory.ttlMs) this.cutOff();
    } finally {
      this.beating = false;
    }
  }

  private cutOff(): void {
    const nodes = new Set<string>();
    for (const a of this.away.values()) nodes.add(a.node);
    for (const s of this.hosted.values()) nodes.add(s.node);
    if (nodes.size === 0) return;
    this.log.warn({ nodes: nodes.size }, 'cluster unreachable: relayed pcm clients cut off');
    for (const node of nodes) this.nodeLost(node);
  }

  /** As if every partner there left: paired clients are told `disconnected` and pair again; room clients are dropped with 1001 (they reconnect). */
  private nodeLost(node: string): void {
    for (const [link, a] of [...this.away]) {
      // An adoption under way fails by itself (and its caller looks elsewhere).
      if (a.node !== node || a.pending) continue;
      this.away.delete(link);
      if (a.room) {
        a.down.close(CLOSE_GOING_AWAY, "the room's node was lost");
        continue;
      }
      if (a.paired) a.down.text('{"type":"disconnected"}');
      a.down.released();
    }
    for (const s of [...this.hosted.values()]) if (s.node === node) s.ended(CLOSE_GOING_AWAY, 'its node was lost');
  }
}
