/**
 * The directory in one process's memory, with the same expiring entries as Redis keys: the
 * primary of `serve --workers` keeps it for its workers when there is no Redis.
 */
import type { Clock } from '../time/clock.js';
import type { DirectoryPort, NodeInfo } from './ports.js';

interface Entry<T> { value: T; expiresAt: number }

export class MemoryDirectory implements DirectoryPort {
  private readonly nodeEntries = new Map<string, Entry<NodeInfo>>();
  private readonly roomEntries = new Map<string, Entry<string>>();
  /** Waiting entries per queue, oldest first (a Set keeps insertion order). */
  private readonly queues = new Map<string, Set<string>>();

  constructor(private readonly clock: Clock, readonly ttlMs = 3000) {}

  async beat(node: NodeInfo, rooms: Iterable<string>): Promise<void> {
    const expiresAt = this.clock.now() + this.ttlMs;
    this.nodeEntries.set(node.id, { value: node, expiresAt });
    for (const room of rooms) this.roomEntries.set(room, { value: node.id, expiresAt });
  }

  async alive(nodeId: string): Promise<boolean> {
    return this.live(this.nodeEntries, nodeId) !== undefined;
  }

  async nodes(): Promise<NodeInfo[]> {
    return [...this.nodeEntries.keys()].flatMap((id) => {
      const n = this.live(this.nodeEntries, id);
      return n ? [n] : [];
    });
  }

  async claim(roomId: string, candidate: string): Promise<string> {
    const owner = this.live(this.roomEntries, roomId);
    if (owner !== undefined && this.live(this.nodeEntries, owner)) return owner;
    this.roomEntries.set(roomId, { value: candidate, expiresAt: this.clock.now() + this.ttlMs });
    return candidate;
  }

  async ownerOf(roomId: string): Promise<string | undefined> {
    const owner = this.live(this.roomEntries, roomId);
    return owner !== undefined && this.live(this.nodeEntries, owner) ? owner : undefined;
  }

  async release(roomId: string, nodeId: string): Promise<void> {
    if (this.roomEntries.get(roomId)?.value === nodeId) this.roomEntries.delete(roomId);
  }

  async leave(nodeId: string): Promise<void> {
    this.nodeEntries.delete(nodeId);
  }

  async hold(nodeId: string, keys: Iterable<string>): Promise<void> {
    const expiresAt = this.clock.now() + this.ttlMs;
    for (const key of keys) this.roomEntries.set(key, { value: nodeId, expiresAt });
  }

  async takeOrWait(queue: string, entry: string): Promise<string | undefined> {
    const q = this.queues.get(queue) ?? new Set<string>();
    this.queues.set(queue, q);
    for (const oldest of q) {
      q.delete(oldest);
      return oldest;
    }
    q.add(entry);
    return undefined;
  }

  async unlist(queue: string, entry: string): Promise<void> {
    const q = this.queues.get(queue);
    q?.delete(entry);
    if (q?.size === 0) this.queues.delete(queue);
  }

  /** An entry's value while it lives (an expired one is dropped on the way). */
  private live<T>(map: Map<string, Entry<T>>, key: string): T | undefined {
    const e = map.get(key);
    if (!e) return undefined;
    if (e.expiresAt <= this.clock.now()) {
      map.delete(key);
      return undefined;
    }
    return e.value;
  }
}
