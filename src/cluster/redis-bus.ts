/**
 * Messages between nodes, over Redis pub/sub: each node listens on its own channel and
 * publishes to the channel of the node a message is for. Pub/sub delivers in order per
 * publisher connection, which is all the relay needs (a member's messages stay in order).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { BusPort } from './ports.js';
import type { NodeMessage } from './wire.js';

export const channelOf = (prefix: string, nodeId: string): string => `${prefix}node-bus:${nodeId}`;

export class RedisBus implements BusPort {
  private handler: ((message: NodeMessage) => void) | undefined;

  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    sub.on('message', (_channel: string, text: string) => {
      let message: NodeMessage;
      try {
        message = JSON.parse(text) as NodeMessage;
      } catch (err) {
        this.log.warn({ err }, 'unreadable message on the node bus');
        return;
      }
      this.handler?.(message);
    });
  }

  /** Listens on `nodeId`'s channel (`sub` becomes a subscriber connection). */
  static async open(pub: Redis, sub: Redis, prefix: string, nodeId: string, log: Logger): Promise<RedisBus> {
    const bus = new RedisBus(pub, sub, prefix, log);
    await sub.subscribe(channelOf(prefix, nodeId));
    return bus;
  }

  onMessage(handler: (message: NodeMessage) => void): void {
    this.handler = handler;
  }

  send(nodeId: string, message: NodeMessage): void {
    this.pub.publish(channelOf(this.prefix, nodeId), JSON.stringify(message)).catch((err: unknown) => {
      this.log.warn({ err, to: nodeId, t: message.t }, 'node bus publish failed');
    });
  }
}
