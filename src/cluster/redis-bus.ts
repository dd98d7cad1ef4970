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
/** Binary frames go on a channel of their own, read as Buffers (never decoded as text). */
export const frameChannelOf = (prefix: string, nodeId: string): string => `${prefix}node-frames:${nodeId}`;

export class RedisBus implements BusPort {
  private handler: ((message: NodeMessage) => void) | undefined;
  private frameHandler: ((frame: Buffer) => void) | undefined;

  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
    private readonly frameChannel: Buffer,
  ) {
    // One subscriber connection for both channels: Redis delivers what one publisher sent in
    // order, so a pair's `connected` text frame is never overtaken by its audio.
    sub.on('messageBuffer', (channel: Buffer, data: Buffer) => {
      if (channel.length === this.frameChannel.length && channel.equals(this.frameChannel)) {
        this.frameHandler?.(data);
        return;
      }
      let message: NodeMessage;
      try {
        message = JSON.parse(data.toString('utf8')) as NodeMessage;
      } catch (err) {
        this.log.warn({ err }, 'unreadable message on the node bus');
        return;
      }
      this.handler?.(message);
    });
  }

  /** Listens on `nodeId`'s channel (`sub` becomes a subscriber connection). */
  static async open(pub: Redis, sub: Redis, prefix: string, nodeId: string, log: Logger): Promise<RedisBus> {
    const bus = new RedisBus(pub, sub, prefix, log, Buffer.from(frameChannelOf(prefix, nodeId)));
    await sub.subscribe(channelOf(prefix, nodeId), frameChannelOf(prefix, nodeId));
    return bus;
  }

  onMessage(handler: (message: NodeMessage) => void): void {
    this.handler = handler;
  }

  async send(nodeId: string, message: NodeMessage): Promise<void> {
    await this.pub.publish(channelOf(this.prefix, nodeId), JSON.stringify(message));
  }

  onFrame(handler: (frame: Buffer) => void): void {
    this.frameHandler = handler;
  }

  sendFrame(nodeId: string, frame: Buffer): void {
    this.pub.publish(frameChannelOf(this.prefix, nodeId), frame).catch((err: unknown) => {
      this.log.debug({ err, to: nodeId }, 'node bus frame publish failed');
    });
  }
}
