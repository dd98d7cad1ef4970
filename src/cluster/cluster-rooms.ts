/**
 * Rooms across nodes (`serve --redis`): a room lives on one node, chosen when it is made (the
 * least loaded live node), and a client may reach any node. A join that lands elsewhere is
 * relayed to the room's node, which admits the member as it would a local one, with a sink
 * that sends what the room says back over the bus; the client's node holds a RemoteMember
 * that relays its in-room messages the other way. Mesh and SFU rooms work alike: an SFU
 * member's media connection is with the room's node (its candidates travel in the relayed
 * signaling). A node that dies is noticed when its key expires: clients whose room was there
 * are dropped with 1001 (they reconnect and re-join, landing on a live node), members whose
 * socket was there leave their rooms.
 */
import { CallpeerError, isCallpeerError, toCallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import { CLOSE_GOING_AWAY, type CloseCode } from '../protocol/close-codes.js';
import { errorMessage, type ServerMessage, type Topology } from '../protocol/signaling.js';
import type { Admission } from '../rooms/access.js';
import type { InRoomMessage, RoomSession } from '../rooms/member-messages.js';
import type { JoinRequest, LeaveReason, Member, MemberSink } from '../rooms/member.js';
import type { RoomRegistry } from '../rooms/registry.js';
import type { BusPort, ClusterTransport, DirectoryPort } from './ports.js';
import { NodeCalls } from './node-calls.js';
import type { JoinCall, JoinReply, NodeMessage } from './wire.js';

export interface ClusterOptions {
  /** What connects the nodes (Redis, or the primary of `serve --workers`), listening for `nodeId`. */
  transport: ClusterTransport;
  nodeId: string;
  rooms: RoomRegistry;
  log: Logger;
  /** Participants on this node (its load). */
  load: () => number;
  /** How often entries are refreshed and peers checked, ms. Default 1000. */
  beatMs?: number;
  /** How long a relayed join may wait for the room's node, ms. Default 5000. */
  joinTimeoutMs?: number;
}

/** A transport the cluster can drop when its room's node is lost (the signaling session). */
export interface ClusterSink extends MemberSink {
  close(code: CloseCode, reason: string): void;
}

/** The client's node's side of a member whose room lives on another node. */
class RemoteMember implements RoomSession {
  private closed = false;
  readonly topology: Topology;
  readonly admission: Admission;
  constructor(
    readonly id: string,
    readonly roomId: string,
    readonly owner: string,
    joined: JoinReply,
    readonly log: Logger,
    private readonly cluster: ClusterRooms,
  ) {
    this.topology = joined.topology;
    this.admission = joined.admission;
  }

  handle(message: InRoomMessage): void {
    this.cluster.relay(this.owner, { t: 'in', from: this.cluster.nodeId, session: this.id, message }, () => {
      // The link to the room's node is down (Redis unreachable): the client hears it was not delivered.
      this.cluster.sinkOf(this.id)?.send(errorMessage('INTERNAL', `room "${this.roomId}" is on another node, which cannot be reached now; try again`, message.type));
    });
  }

  close(reason: LeaveReason): void {
    if (this.closed) return;
    this.closed = true;
    this.cluster.relay(this.owner, { t: 'leave', from: this.cluster.nodeId, session: this.id, reason });
    this.cluster.forget(this.id)?.detached(reason);
  }
}

/** The room's node's sink for a member whose socket is on node `from`. */
class RelayedSink implements MemberSink {
  readonly oneShot: boolean;
  readonly viewing: { publisher?: string } | undefined;
  constructor(private readonly cluster: ClusterRooms, readonly from: string, readonly session: string, transport: JoinCall['transport']) {
    // What the transport on the client's node is (WHIP/WHEP: one-shot, viewing) shapes how the room treats it.
    this.oneShot = transport?.oneShot ?? false;
    this.viewing = transport?.viewing;
  }

  send(message: ServerMessage): void {
    this.cluster.relay(this.from, { t: 'out', session: this.session, message });
  }

  detached(reason: LeaveReason): void {
    this.cluster.unhost(this.from, this.session);
    this.cluster.relay(this.from, { t: 'detached', session: this.session, reason });
  }
}

export class ClusterRooms {
  readonly nodeId: string;
  private readonly log: Logger;
  private readonly directory: DirectoryPort;
  /** Sinks of this node's clients in rooms on other nodes, by session id, with the room's node. */
  private readonly away = new Map<string, { sink: ClusterSink; owner: string }>();
  /** Members of this node's rooms whose socket is on another node, by `node/session`. */
  private readonly hosted = new Map<string, { member: Member; from: string }>();
  /** Requests to other nodes (joins here; the room API and PCM pairing serve theirs too). */
  readonly calls: NodeCalls;
  private beat: NodeJS.Timeout | undefined;
  private beating = false;
  /** When beats started failing (the link to the cluster is down), else undefined. */
  private beatFailedSince: number | undefined;
  /** Peers whose entry was missing at the last beats, and how many times in a row. */
  private readonly missing = new Map<string, number>();

  private readonly bus: BusPort;

  private constructor(private readonly options: ClusterOptions) {
    this.nodeId = options.nodeId;
    this.log = options.log.child({ node: options.nodeId });
    this.directory = options.transport.directory;
    this.bus = options.transport.bus;
    this.calls = new NodeCalls(this.nodeId, (node, m) => this.relay(node, m), options.joinTimeoutMs ?? 5000);
    this.calls.serve('join', (args: JoinCall, from: string) => this.hostJoin(args, from));
    this.bus.onMessage((m) => this.receive(m));
  }

  /** Joins the cluster and starts beating. */
  static async start(options: ClusterOptions): Promise<ClusterRooms> {
    const cluster = new ClusterRooms(options);
    await cluster.tick();
    cluster.beat = setInterval(() => void cluster.tick(), options.beatMs ?? 1000);
    cluster.beat.unref();
    cluster.log.info({ cluster: options.transport.name }, 'joined the cluster');
    return cluster;
  }

  /** Joins `roomId` wherever it lives (made on the least loaded node if it lives nowhere). */
  async join(roomId: string, sink: ClusterSink, request: JoinRequest, token?: string): Promise<RoomSession> {
    let owner: string;
    try {
      owner = await this.place(roomId);
    } catch (err) {
      // The directory (Redis) is unreachable: rooms already here keep taking joins.
      if (this.options.rooms.get(roomId)) return this.options.rooms.join(roomId, sink, request, token);
      throw new CallpeerError('INTERNAL', `the cluster cannot be reached now, and room "${roomId}" is not on this node; try again`, { cause: err, ref: 'join' });
    }
    if (owner === this.nodeId) return this.options.rooms.join(roomId, sink, request, token);
    const { leg: _leg, admission: _admission, ...relayed } = request;
    let joined: JoinReply;
    // Registered before the join leaves: the room's `joined` arrives before the call's reply.
    this.away.set(request.id, { sink, owner });
    try {
      const transport = sink.oneShot || sink.viewing ? { oneShot: sink.oneShot ?? false, ...(sink.viewing && { viewing: sink.viewing }) } : undefined;
      const call: JoinCall = { session: request.id, room: roomId, request: relayed, ...(token !== undefined && { token }), ...(transport && { transport }) };
      joined = await this.calls.call<JoinReply>(owner, 'join', call, this.options.joinTimeoutMs);
    } catch (err) {
      this.away.delete(request.id);
      throw isCallpeerError(err) && err.code !== 'INTERNAL' ? new CallpeerError(err.code, err.message, { ref: 'join' }) : err;
    }
    this.log.debug({ room: roomId, session: request.id, owner }, 'joined a room on another node');
    return new RemoteMember(request.id, roomId, owner, joined, this.options.log.child({ room: roomId, peer: request.id, roomNode: owner }), this);
  }

  /**
   * The node `roomId` lives on; if it lives nowhere, claimed for the least loaded live node
   * (which makes it when the join or the room API's create reaches it).
   */
  async place(roomId: string): Promise<string> {
    return (await this.directory.ownerOf(roomId)) ?? this.directory.claim(roomId, await this.leastLoaded());
  }

  /** Members relayed across nodes: `hosted` in this node's rooms with their socket elsewhere, `away` the other way (metrics). */
  relayedMembers(): { hosted: number; away: number } {
    return { hosted: this.hosted.size, away: this.away.size };
  }

  /** A room here closed: its key goes now rather than at its TTL. */
  roomClosed(roomId: string): void {
    this.directory.release(roomId, this.nodeId).catch((err: unknown) => this.log.debug({ err, room: roomId }, 'room key release failed'));
  }

  /** @internal Sends over the bus; a failure is logged (and handed to `failed`). */
  relay(nodeId: string, message: NodeMessage, failed?: () => void): void {
    this.bus.send(nodeId, message).catch((err: unknown) => {
      // While the link is known to be down, one warning said it all.
      if (this.beatFailedSince === undefined) this.log.warn({ err, to: nodeId, t: message.t }, 'message to another node not delivered');
      else this.log.debug({ to: nodeId, t: message.t }, 'message to another node not delivered (cluster link down)');
      failed?.();
    });
  }

  /** @internal The sink of this node's client in a room on another node. */
  sinkOf(session: string): ClusterSink | undefined {
    return this.away.get(session)?.sink;
  }

  /** @internal A client of this node is out of its remote room: its sink, if it was still mapped. */
  forget(session: string): ClusterSink | undefined {
    const entry = this.away.get(session);
    this.away.delete(session);
    return entry?.sink;
  }

  /** @internal */
  unhost(from: string, session: string): void {
    this.hosted.delete(`${from}/${session}`);
  }

  async close(): Promise<void> {
    clearInterval(this.beat);
    await this.directory.leave(this.nodeId).catch(() => undefined);
    await this.options.transport.close();
  }

  private async leastLoaded(): Promise<string> {
    const nodes = await this.directory.nodes();
    let best = { id: this.nodeId, load: this.options.load() };
    for (const n of nodes) if (n.load < best.load) best = n;
    return best.id;
  }

  private receive(m: NodeMessage): void {
    switch (m.t) {
      case 'call':
      case 'reply': this.calls.receive(m); return;
      case 'in': {
        const hosted = this.hosted.get(`${m.from}/${m.session}`);
        if (!hosted) return;
        try {
          hosted.member.handle(m.message);
        } catch (err) {
          const e = toCallpeerError(err);
          hosted.member.send(errorMessage(e.code as 'INTERNAL', e.message, e.ref ?? m.message.type));
        }
        return;
      }
      case 'leave': this.hosted.get(`${m.from}/${m.session}`)?.member.close(m.reason); return;
      case 'out': this.away.get(m.session)?.sink.send(m.message); return;
      case 'detached': this.forget(m.session)?.detached(m.reason);
    }
  }

  /** A join relayed from another node: admitted here as a local one would be. */
  private async hostJoin(j: JoinCall, from: string): Promise<JoinReply> {
    const member = await this.options.rooms.join(j.room, new RelayedSink(this, from, j.session, j.transport), j.request, j.token);
    this.hosted.set(`${from}/${j.session}`, { member, from });
    return { topology: member.topology, admission: member.admission };
  }

  /** The live node `roomId` lives on, if any. */
  ownerOf(roomId: string): Promise<string | undefined> {
    return this.directory.ownerOf(roomId);
  }

  /** Every live node of the cluster, this one too. */
  async nodeIds(): Promise<string[]> {
    const ids = new Set((await this.directory.nodes()).map((n) => n.id));
    ids.add(this.nodeId);
    return [...ids];
  }

  /** One beat, bounded by the TTL; the link's state is logged when it changes. */
  private async tick(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    // A beat stuck on a link that neither answers nor fails must not stop every later beat.
    let stuck: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      stuck = setTimeout(() => reject(new CallpeerError('TIMEOUT', 'cluster beat took longer than the TTL')), this.directory.ttlMs);
    });
    try {
      await Promise.race([this.beatOnce(), timeout]);
      if (this.beatFailedSince !== undefined) this.log.info({ downMs: Date.now() - this.beatFailedSince }, 'cluster link back');
      this.beatFailedSince = undefined;
    } catch (err) {
      // Once when the link goes, not every beat; peers are not judged while it is down.
      if (this.beatFailedSince === undefined) this.log.warn({ err }, 'cluster link down: rooms here go on, other nodes cannot be reached');
      this.beatFailedSince ??= Date.now();
    } finally {
      clearTimeout(stuck);
      this.beating = false;
    }
  }

  /** Entries refreshed; peers that vanished: their rooms' clients dropped, their clients' members out. */
  private async beatOnce(): Promise<void> {
    await this.directory.beat({ id: this.nodeId, load: this.options.load() }, this.options.rooms.ids());
    const peers = new Set<string>([...this.away.values()].map((a) => a.owner));
    for (const h of this.hosted.values()) peers.add(h.from);
    for (const peer of peers) {
      if (await this.directory.alive(peer)) {
        this.missing.delete(peer);
        continue;
      }
      // Missing twice in a row: a Redis that restarted empty lacks every key until the next beats.
      const times = (this.missing.get(peer) ?? 0) + 1;
      this.missing.set(peer, times);
      if (times < 2) continue;
      this.missing.delete(peer);
      this.log.warn({ lost: peer }, 'a node of the cluster is gone');
      this.nodeLost(peer);
    }
  }

  private nodeLost(peer: string): void {
    for (const [session, a] of [...this.away]) {
      if (a.owner !== peer) continue;
      this.away.delete(session);
      a.sink.detached('room-closed');
      a.sink.close(CLOSE_GOING_AWAY, "the room's node was lost");
    }
    for (const h of [...this.hosted.values()]) if (h.from === peer) h.member.close('disconnected');
  }
}
