import { Counter, Gauge, type Registry } from 'prom-client';

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
    new Counter({
      name: 'callpeer_pcm_overrun_frames_total', help: 'Audio frames dropped on arrival, unheard: over 200 ms long, or sent faster than real time beyond a 5 s burst', registers,
      collect() {
        this.inc(self.overrun - overrunSeen);
        overrunSeen = self.overrun;
      },
    });
  }
}
