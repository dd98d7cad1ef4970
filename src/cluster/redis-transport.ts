/** The cluster over Redis (`serve --redis`): a directory in keys with TTLs, a bus over pub/sub. */
import { Redis } from 'ioredis';
import { CallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ClusterTransport } from './ports.js';
import { RedisBus } from './redis-bus.js';
import { RedisDirectory } from './redis-directory.js';

export interface RedisTransportOptions {
  /** Prefix of every key and channel. Default `callpeer:`. */
  prefix?: string;
  /** Default 3000 ms. */
  ttlMs?: number;
}

/** Connects (CONNECTION_FAILED with a hint when Redis cannot be reached) and listens on `nodeId`'s channel. */
export async function redisTransport(url: string, nodeId: string, log: Logger, options: RedisTransportOptions = {}): Promise<ClusterTransport> {
  const prefix = options.prefix ?? 'callpeer:';
  const connect = async (): Promise<Redis> => {
    // No offline queue: while Redis is away a command fails at once (the node reports it and
    // goes on with its own rooms) instead of waiting for a reconnect that may not come.
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 3000, enableOfflineQueue: false });
    // Reported by the calls that fail, ioredis reconnects by itself; the socket's own error
    // (ECONNREFUSED...) says more than connect()'s "Connection is closed".
    let socketError: Error | undefined;
    redis.on('error', (err: Error) => { socketError = err; });
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new CallpeerError('CONNECTION_FAILED', `cannot reach Redis at ${url}: ${(socketError ?? (err as Error)).message}`, {
        cause: err, hint: 'start redis-server, or fix --redis (redis://host:port)',
      });
    }
    return redis;
  };
  const pub = await connect();
  const sub = await connect().catch((err: unknown) => { pub.disconnect(); throw err; });
  const bus = await RedisBus.open(pub, sub, prefix, nodeId, log);
  return {
    name: url,
    directory: new RedisDirectory(pub, prefix, options.ttlMs ?? 3000),
    bus,
    close: async () => {
      pub.disconnect();
      sub.disconnect();
    },
  };
}
