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
import { errorMessage, type ServerMessage } from '../protocol/signaling.js';
import type { InRoomMessage, RoomSession } from '../rooms/member-messages.js';
import type { JoinRequest, LeaveReason, Member, MemberSink } from '../rooms/member.js';
import type { RoomRegistry } from '../rooms/registry.js';
import type { BusPort, ClusterTransport, DirectoryPort } from './ports.js';
import { NodeCalls } from './node-calls.js';
import type { JoinCall, NodeMessage } from './wire.js';

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
  constructor(
    readonly id: string,
    readonly roomId: string,
    readonly owner: string,
    readonly log: Logger,
    private readonly cluster: ClusterRooms,
  ) {}

  handle(message: InRoomMessage): void {
    this.cluster.relay(this.owner, { t: 'in', from: this.cluster.nodeId, session: this.id, message });
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
  constructor(private readonly cluster: ClusterRooms, readonly from: string, readonly session: string) {}

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

  private readonly bus: BusPort;

  private constructor(private readonly options: ClusterOptions) {
    this.nodeId = options.nodeId;
    this.log = options.log.child({ node: options.nodeId });
    this.directory = options.transport.directory;
    this.bus = options.transport.bus;
    this.calls = new NodeCalls(this.nodeId, (node, m) => this.bus.send(node, m), options.joinTimeoutMs ?? 5000);
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
    const owner = await this.place(roomId);
    if (owner === this.nodeId) return this.options.rooms.join(roomId, sink, request, token);
    const { leg: _leg, admission: _admission, ...relayed } = request;
    // Registered before the join leaves: the room's `joined` arrives before the call's reply.
    this.away.set(request.id, { sink, owner });
    try {
      const call: JoinCall = { session: request.id, room: roomId, request: relayed, ...(token !== undefined && { token }) };
      await this.calls.call(owner, 'join', call, this.options.joinTimeoutMs);
    } catch (err) {
      this.away.delete(request.id);
      throw isCallpeerError(err) && err.code !== 'INTERNAL' ? new CallpeerError(err.code, err.message, { ref: 'join' }) : err;
    }
    this.log.debug({ room: roomId, session: request.id, owner }, 'joined a room on another node');
    return new RemoteMember(request.id, roomId, owner, this.options.log.child({ room: roomId, peer: request.id, roomNode: owner }), this);
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

  /** @internal */
  relay(nodeId: string, message: NodeMessage): void {
    this.bus.send(nodeId, message);
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
  private async hostJoin(j: JoinCall, from: string): Promise<void> {
    const member = await this.options.rooms.join(j.room, new RelayedSink(this, from, j.session), j.request, j.token);
    this.hosted.set(`${from}/${j.session}`, { member, from });
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

  /** Keys refreshed; peers that vanished: their rooms' clients dropped, their clients' members out. */
  private async tick(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      await this.directory.beat({ id: this.nodeId, load: this.options.load() }, this.options.rooms.ids());
      const peers = new Set<string>([...this.away.values()].map((a) => a.owner));
      for (const h of this.hosted.values()) peers.add(h.from);
      for (const peer of peers) {
        if (await this.directory.alive(peer)) continue;
        this.log.warn({ lost: peer }, 'a node of the cluster is gone');
        this.nodeLost(peer);
      }
    } catch (err) {
      this.log.warn({ err }, 'cluster beat failed');
    } finally {
      this.beating = false;
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
