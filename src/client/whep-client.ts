/**
 * A WHEP client in Node: offers one receive-only Opus section and (with `video`, the default)
 * one receive-only VP8 section to any WHEP endpoint (HttpSession), then hands out what the
 * server sends on them: `track` events, `audioTrack`/`videoTrack` with `onRtp`. The recorder's
 * `--whep` and the load tester's viewers are made of it.
 */
import type { MediaTrack } from '../rtc/media-track.js';
import { HttpSession, type HttpSessionOptions } from './http-session.js';

export interface WhepClientOptions extends HttpSessionOptions {
  /** Offer a video section too (default true). */
  video?: boolean;
}

export class WhepClient extends HttpSession {
  readonly audioTrack: MediaTrack;
  readonly videoTrack: MediaTrack | undefined;

  constructor(options: WhepClientOptions) {
    super(options, 'WHEP');
    this.audioTrack = this.peer.addAudioTrack({ direction: 'recvonly' });
    this.videoTrack = options.video === false ? undefined : this.peer.addVideoReceiver();
  }

  /** The sections the server said it sends on (known once start() resolved). */
  receiving(): MediaTrack[] {
    return [this.audioTrack, this.videoTrack].filter((t): t is MediaTrack => t !== undefined && t.remoteSending);
  }
}
