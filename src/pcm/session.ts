import type { Logger } from '../log.js';
import type { PcmMetrics } from './metrics.js';
import type { PcmPeer } from './peer.js';
import { createTranscoder, type Transcoder } from './transcoder.js';

/** How one side's audio reaches the other: byte for byte, or through a transcoder. */
interface Route {
  readonly to: PcmPeer;
  readonly transcoder: Transcoder | undefined;
}

/**
 * A paired couple. Relays each side's audio to the other in the format the other asked for
 * (codecs and resamplers belong to the session and are freed by `close`), and relays mute.
 * Pairing, re-queueing and sockets' lifetimes are the service's job.
 */
export class PcmSession {
  private readonly routeA: Route;
  private readonly routeB: Route;
  private closed = false;

  constructor(
    readonly id: string,
    readonly a: PcmPeer,
    readonly b: PcmPeer,
    private readonly metrics: PcmMetrics,
    readonly log: Logger,
  ) {
    this.routeA = this.route(a, b);
    this.routeB = this.route(b, a);
  }

  /** The pair code both gave, if they paired by code. */
  get code(): string | undefined {
    return this.a.params.pair;
  }

  partnerOf(peer: PcmPeer): PcmPeer {
    return peer === this.a ? this.b : this.a;
  }

  /** Tells both sides they are paired, each with the format it will receive. */
  start(): void {
    for (const peer of [this.a, this.b]) {
      const { codec, rate } = peer.params;
      peer.sendJson({ type: 'connected', codec, sampleRate: rate, channels: 1, frameMs: 20 });
      if (this.partnerOf(peer).muted) peer.sendJson({ type: 'peer-muted', muted: true });
    }
    this.log.info({ a: this.a.id, b: this.b.id, transcodeAtoB: Boolean(this.routeA.transcoder), transcodeBtoA: Boolean(this.routeB.transcoder) }, 'pcm pair started');
  }

  /**
   * One binary frame from `from`, holding `ms` of audio (already checked and admitted by the
   * service). Throws INVALID_MESSAGE if a transcoder cannot read it (e.g. not an Opus packet).
   */
  relay(from: PcmPeer, frame: Buffer, ms: number): void {
    if (this.closed) return;
    const route = from === this.a ? this.routeA : this.routeB;
    if (route.transcoder) {
      route.transcoder.push(frame);
    } else {
      route.to.egress.push(frame, ms);
      this.metrics.forwarded++;
    }
  }

  mute(from: PcmPeer, muted: boolean): void {
    if (!this.closed) this.partnerOf(from).sendJson({ type: 'peer-muted', muted });
  }

  /** Frees the codecs. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.routeA.transcoder?.close();
    this.routeB.transcoder?.close();
  }

  private route(from: PcmPeer, to: PcmPeer): Route {
    const metrics = this.metrics;
    const transcoder = createTranscoder(from.params, to.params, (out, ms) => {
      to.egress.push(out, ms);
      metrics.transcoded++;
    });
    return { to, transcoder };
  }
}
