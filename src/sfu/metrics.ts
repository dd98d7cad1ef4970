import { Counter, type Registry } from 'prom-client';

/**
 * What the SFU does besides forwarding, on `/metrics`: NACKs answered from the packet cache,
 * key frames asked of publishers, layer switches. Events, not packets: counting every
 * forwarded packet here would cost more than forwarding it.
 */
export class SfuMetrics {
  readonly nackPackets: Counter<'result'>;
  readonly keyframeRequests: Counter;
  readonly layerSwitches: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.nackPackets = new Counter({
      name: 'callpeer_sfu_nack_packets_total', labelNames: ['result'], registers,
      help: 'Packets subscribers asked for again (NACK): resent from the cache, missing from it, or suppressed (asked again within 100 ms)',
    });
    this.keyframeRequests = new Counter({ name: 'callpeer_sfu_keyframe_requests_total', help: 'PLI/FIR sent to publishers (after coalescing)', registers });
    this.layerSwitches = new Counter({ name: 'callpeer_sfu_layer_switches_total', help: 'Changes of the simulcast layer forwarded to a subscriber', registers });
  }
}
