/**
 * A WHIP client (RFC 9725) in Node: offers one send-only Opus section (and, with `video`, one
 * VP8 section), publishes it through any WHIP endpoint (HttpSession) and plays an Opus source
 * on it; `stop()` DELETEs the session.
 */
import type { OpusSource } from '../media/opus-sources.js';
import type { MediaTrack } from '../rtc/media-track.js';
import { OpusSender } from '../rtc/opus-sender.js';
import { HttpSession, type HttpSessionOptions } from './http-session.js';

export type { HttpSessionInfo as WhipSessionInfo } from './http-session.js';

export interface WhipClientOptions extends HttpSessionOptions {
  /** Also offer a VP8 video section (send it with `videoTrack`). */
  video?: boolean;
}

export class WhipClient extends HttpSession {
  readonly audioTrack: MediaTrack;
  readonly videoTrack: MediaTrack | undefined;
  private sender: OpusSender | undefined;

  constructor(options: WhipClientOptions) {
    super(options, 'WHIP');
    this.audioTrack = this.peer.addAudioTrack({ direction: 'sendonly' });
    this.videoTrack = options.video ? this.peer.addVideoSender() : undefined;
  }

  /** Plays Opus packets from `source` on the audio section, paced in real time; resolves when the source ends. */
  play(source: OpusSource): Promise<void> {
    const sender = (this.sender ??= new OpusSender(this.audioTrack));
    const ended = new Promise<void>((resolve) => sender.once('ended', () => resolve()));
    sender.play(source);
    return ended;
  }

  override async stop(): Promise<number | undefined> {
    this.sender?.stop();
    return super.stop();
  }
}
