/**
 * A node-datachannel DataChannel behind typed events. The native callbacks are installed
 * here, each body guarded (an exception thrown inside one aborts the process); a throwing
 * listener is handed to `onFault`, which the Peer uses to close itself and report it.
 */
import { EventEmitter } from 'node:events';
import type { DataChannel } from 'node-datachannel';

export interface PeerDataChannelEvents {
  open: [];
  message: [data: string | Buffer];
  closed: [];
}

export class PeerDataChannel extends EventEmitter<PeerDataChannelEvents> {
  readonly label: string;
  private closedFlag = false;

  /** @internal Made by the Peer. */
  constructor(private readonly native: DataChannel, onFault: (err: unknown) => void) {
    super();
    this.label = native.getLabel();
    const guard = <A extends unknown[]>(fn: (...args: A) => void) => (...args: A): void => {
      try {
        fn(...args);
      } catch (err) {
        onFault(err);
      }
    };
    native.onOpen(guard(() => { if (!this.closedFlag) this.emit('open'); }));
    native.onMessage(guard((msg: string | Buffer | ArrayBuffer) => {
      if (this.closedFlag) return;
      this.emit('message', msg instanceof ArrayBuffer ? Buffer.from(msg) : msg);
    }));
    native.onClosed(guard(() => this.close()));
    native.onError(guard(() => this.close()));
  }

  isOpen(): boolean {
    if (this.closedFlag) return false;
    try {
      return this.native.isOpen();
    } catch {
      return false;
    }
  }

  /** Sends a text or binary message; false when the channel is not open. */
  send(data: string | Buffer | Uint8Array): boolean {
    if (this.closedFlag) return false;
    try {
      return typeof data === 'string' ? this.native.sendMessage(data) : this.native.sendMessageBinary(data);
    } catch {
      return false; // not open, or destroyed with its PeerConnection
    }
  }

  /** Idempotent. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    try {
      this.native.close();
    } catch {
      // Already destroyed with its PeerConnection: closed either way.
    }
    this.emit('closed');
    this.removeAllListeners();
  }
}
