import { Counter, Gauge, type Registry } from 'prom-client';
import type { LegStats } from '../rooms/audio-leg.js';
import type { GatewayTotals } from './room-leg.js';

/**
 * The PCM service's counters. The hot path bumps plain numbers (a labelled prom-client
 * `inc` hashes its labels on every call); prom-client reads them when /metrics is scraped.
 */
export class PcmMetrics {
  /** Clients in the pairing queue (with or without a code). */
  waiting = 0;
  /** Paired couples. */
  pairs = 0;
  /** Frames sent to a receiver unchanged. */
  forwarded = 0;
  /** Frames sent to a receiver after conversion (codec and/or rate). */
  transcoded = 0;
  /** Audio frames dropped because a receiver could not keep up. */
  dropped = 0;
  /** Audio frames dropped on arrival: longer than a frame may be, or sent faster than real time. */
  overrun = 0;
  /** (v2) Every room client's frames and underruns, summed as they happen. */
  readonly gateway: GatewayTotals = { framesIn: 0, framesOut: 0, underruns: 0 };
  /** (v2) The room clients there are now (set by the service). */
  legs: () => LegStats[] = () => [];

  constructor(registry: Registry) {
    const registers = [registry];
    const self = this;
    new Gauge({
      name: 'callpeer_pcm_waiting_clients', help: 'PCM clients waiting for a partner', registers,
      collect() { this.set(self.waiting); },
    });
    new Gauge({
      name: 'callpeer_pcm_active_pairs', help: 'Paired PCM couples', registers,
      collect() { this.set(self.pairs); },
    });
    // Counters only go up: push the difference since the last scrape.
    let forwardedSeen = 0;
    let transcodedSeen = 0;
    let droppedSeen = 0;
    let overrunSeen = 0;
    new Counter({
      name: 'callpeer_pcm_relayed_frames_total', help: 'Audio frames sent to PCM receivers, by path (forward = byte for byte, transcode = converted)',
      labelNames: ['path'] as const, registers,
      collect() {
        this.inc({ path: 'forward' }, self.forwarded - forwardedSeen);
        this.inc({ path: 'transcode' }, self.transcoded - transcodedSeen);
        forwardedSeen = self.forwarded;
        transcodedSeen = self.transcoded;
      },
    });
    new Counter({
      name: 'callpeer_pcm_dropped_frames_total', help: 'Audio frames dropped (oldest first) because a PCM receiver could not keep up', registers,
      collect() {
        this.inc(self.dropped - droppedSeen);
        droppedSeen = self.dropped;
      },
    });
    new Gauge({
      name: 'callpeer_gateway_legs', help: 'PCM and phone clients in rooms (gateway legs)', registers,
      collect() { this.set(self.legs().length); },
    });
    new Gauge({
      name: 'callpeer_gateway_queued_audio_ms', help: 'Audio queued for the gateway leg with the most waiting, ms (bounded by --max-queue-ms)', registers,
      collect() { this.set(Math.max(0, ...self.legs().map((l) => l.queueMs))); },
    });
    let gatewaySeen = { framesIn: 0, framesOut: 0, underruns: 0 };
    new Counter({
      name: 'callpeer_gateway_frames_total', help: 'Audio frames through gateway legs: in = from the clients, out = 20 ms frames of the mix to them',
      labelNames: ['direction'] as const, registers,
      collect() {
        this.inc({ direction: 'in' }, self.gateway.framesIn - gatewaySeen.framesIn);
        this.inc({ direction: 'out' }, self.gateway.framesOut - gatewaySeen.framesOut);
        gatewaySeen = { ...gatewaySeen, framesIn: self.gateway.framesIn, framesOut: self.gateway.framesOut };
      },
    });
    new Counter({
      name: 'callpeer_gateway_underruns_total', help: 'Times a gateway client\'s audio ran dry while it was talking (late or lost frames)', registers,
      collect() {
        this.inc(self.gateway.underruns - gatewaySeen.underruns);
        gatewaySeen = { ...gatewaySeen, underruns: self.gateway.underruns };
      },
    });
    new Counter({
      name: 'callpeer_pcm_overrun_frames_total', help: 'Audio frames dropped on arrival, unheard: over 200 ms long, or sent faster than real time beyond a 5 s burst', registers,
      collect() {
        this.inc(self.overrun - overrunSeen);
        overrunSeen = self.overrun;
      },
    });
  }
}
