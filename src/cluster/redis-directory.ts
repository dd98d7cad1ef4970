/**
 * Who is alive and where each room lives, in Redis keys with TTLs: a node refreshes its own
 * key and its rooms' keys every beat, so a node that dies (kill -9) vanishes from both within
 * `ttlMs`. A room's key names the node it lives on; it is claimed with SET NX when the room is
 * made, for the least loaded live node, and taken over the same way when its node is gone.
 */
import type { Redis } from 'ioredis';
import type { DirectoryPort, NodeInfo } from './ports.js';

/** Sets KEYS[1] to ARGV[1] (TTL ARGV[2] ms) unless it names a node whose key (prefix ARGV[3]) still lives; returns the owner. */
const CLAIM = `
local owner = redis.call('GET', KEYS[1])
if owner and redis.call('EXISTS', ARGV[3] .. owner) == 1 then return owner end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]`;

/** Deletes KEYS[1] only if it still names ARGV[1]. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Pops the oldest entry of list KEYS[1], or appends ARGV[1] and returns false. */
const TAKE_OR_WAIT = `
local oldest = redis.call('LPOP', KEYS[1])
if oldest then return oldest end
redis.call('RPUSH', KEYS[1], ARGV[1])
return false`;

export class RedisDirectory implements DirectoryPort {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly ttlMs: number,
  ) {}

  private nodeKey(id: string): string { return `${this.prefix}node:${id}`; }
  private roomKey(id: string): string { return `${this.prefix}room:${id}`; }
  private queueKey(id: string): string { return `${this.prefix}queue:${id}`; }

  /** One beat: this node's key (with its load) and its rooms' keys live for another TTL. */
  async beat(node: NodeInfo, rooms: Iterable<string>): Promise<void> {
    const p = this.redis.pipeline();
    p.set(this.nodeKey(node.id), JSON.stringify(node), 'PX', this.ttlMs);
    for (const room of rooms) p.set(this.roomKey(room), node.id, 'PX', this.ttlMs);
    // A pipeline resolves with each command's error instead of rejecting: a beat that did not land must fail.
    const failed = (await p.exec())?.find(([err]) => err)?.[0];
    if (failed) throw failed;
  }

  async alive(nodeId: string): Promise<boolean> {
    return (await this.redis.exists(this.nodeKey(nodeId))) === 1;
  }

  /** Live nodes, from their keys. */
  async nodes(): Promise<NodeInfo[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}node:*`, 'COUNT', 100);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length === 0) return [];
    const values = await this.redis.mget(keys);
    return values.flatMap((v) => (v ? [JSON.parse(v) as NodeInfo] : []));
  }

  /** The node `roomId` lives on: its live owner, else `candidate` (now the owner). */
  async claim(roomId: string, candidate: string): Promise<string> {
    return (await this.redis.eval(CLAIM, 1, this.roomKey(roomId), candidate, String(this.ttlMs), `${this.prefix}node:`)) as string;
  }

  /** The live node `roomId` lives on, if any. */
  async ownerOf(roomId: string): Promise<string | undefined> {
    const owner = await this.redis.get(this.roomKey(roomId));
    return owner !== null && (await this.alive(owner)) ? owner : undefined;
  }

  /** The room closed on `nodeId`: its key goes (unless another node took it meanwhile). */
  async release(roomId: string, nodeId: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.roomKey(roomId), nodeId);
  }

  async leave(nodeId: string): Promise<void> {
    await this.redis.del(this.nodeKey(nodeId));
  }

  async hold(nodeId: string, keys: Iterable<string>): Promise<void> {
    const p = this.redis.pipeline();
    for (const key of keys) p.set(this.roomKey(key), nodeId, 'PX', this.ttlMs);
    if (p.length > 0) await p.exec();
  }

  async takeOrWait(queue: string, entry: string): Promise<string | undefined> {
    return ((await this.redis.eval(TAKE_OR_WAIT, 1, this.queueKey(queue), entry)) as string | null) ?? undefined;
  }

  async unlist(queue: string, entry: string): Promise<void> {
    await this.redis.lrem(this.queueKey(queue), 0, entry);
  }
}
