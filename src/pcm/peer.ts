import type { WebSocket } from 'ws';
import type { PcmParams, PcmServerMessage } from '../protocol/pcm.js';
import { Egress, type EgressOptions } from './egress.js';
import type { PcmSession } from './session.js';

/** One /ws/pcm client as the server sees it: its socket, what it asked for, where it is. */
export class PcmPeer {
  readonly egress: Egress;
  /** The pair it is in, if any. */
  session: PcmSession | undefined;
  /** What it last said with `{type:'mute'}`; a new partner is told at once. */
  muted = false;
  /** Date.now() of its last frame, message or pong. */
  lastHeard: number;
  /** Bad frames in a row; past the service's limit the socket is closed. */
  badFrames = 0;
  /** Set once its socket closed (or the server is closing it): never queue or pair it again. */
  gone = false;

  constructor(
    readonly id: string,
    readonly ws: WebSocket,
    readonly params: PcmParams,
    egressOptions: EgressOptions,
  ) {
    this.egress = new Egress(ws, egressOptions);
    this.lastHeard = Date.now();
  }

  /** True while its socket can take messages. */
  get open(): boolean {
    return !this.gone && this.ws.readyState === this.ws.OPEN;
  }

  /** Sends a control message (never dropped, unlike audio). */
  sendJson(message: PcmServerMessage): void {
    if (this.open) this.ws.send(JSON.stringify(message));
  }

  /** How much audio a frame of `bytes` from this client holds, ms (an Opus packet is 20 ms). */
  frameMs(bytes: number): number {
    return this.params.codec === 'pcm' ? bytes / 2 / (this.params.rate / 1000) : 20;
  }
}
