/**
 * One subscriber's copy of one published track: our send-only m-section on the subscriber's
 * connection, and what turns the publisher's packets into one continuous stream there. Audio
 * only needs its SSRC and payload type changed (one source, never switched). Video goes
 * through a layer selector (which simulcast layer, switching at key frames), a rewriter
 * (sequence numbers, timestamps, VP8 picture ids continuous across switches) and a packet
 * cache that answers the subscriber's NACKs; its PLI/FIR become key-frame requests upstream.
 * Sender reports go to the subscriber so it can measure RTT and sync audio with video.
 */
import type { Logger } from '../log.js';
import { setRtpSequenceNumber, setRtpTimestamp } from '../media/rtp.js';
import { buildRtcp, cnameSdes, ntpFromUnixMs, ntpMiddle32, rttMs, type RtcpPacket } from '../media/rtcp.js';
import { rewriteVp8Descriptor } from '../media/vp8.js';
import type { LayerPreference, LayerReason, ServerMessage } from '../protocol/signaling.js';
import type { RtpTrack } from '../rtc/media-track.js';
import { readRtcp, ReportTimer } from '../rtc/rtcp-schedule.js';
import type { Clock } from '../time/clock.js';
import { retargetRtp } from './forward.js';
import type { AllocatedStream, DownlinkAllocator } from './downlink-allocator.js';
import { LayerSelector } from './layer-selector.js';
import { LossAdapter } from './loss-adapter.js';
import { layerIndexFor, layerNames } from './layers.js';
import type { SfuMetrics } from './metrics.js';
import { NackResponder } from './nack-responder.js';
import { PacketCache } from './packet-cache.js';
import type { ForwardedPacket, Publication } from './publication.js';
import { RtpRewriter } from './rtp-rewriter.js';
import { buildForwardedSenderReport } from './sender-report.js';

/** What a subscription needs of the member it forwards to. */
export interface Subscriber {
  readonly id: string;
  send(message: ServerMessage): void;
}

export interface SubscriptionOptions {
  clock: Clock;
  log: Logger;
  /** Mean interval of our sender reports to the subscriber, ms (default 1000). */
  reportIntervalMs?: number;
  metrics?: SfuMetrics;
  /**
   * The outgoing stream's rewriter (streamRewriter), when the track carries one publication
   * after another (a WHEP viewer's section): the stream goes on across them, its sequence
   * numbers never jumping (a receiver's SRTP replay check would drop packets numbered below
   * the last). Audio goes through it too then.
   */
  rewriter?: RtpRewriter;
  /** The subscriber's connection's bandwidth allocator: its REMB caps the simulcast layers of every stream to it. */
  allocator?: DownlinkAllocator;
}

/** What makes `track`'s outgoing stream continuous (one SSRC, numbers without gaps) for packets of `publication`'s codec. */
export function streamRewriter(track: RtpTrack, publication: Publication): RtpRewriter {
  return new RtpRewriter({
    ssrc: track.localSsrc, payloadType: track.codec?.payloadType ?? publication.codec.payloadType, clockRate: publication.codec.clockRate,
    vp8: publication.codec.name.toUpperCase() === 'VP8',
  });
}

export class Subscription<T extends RtpTrack = RtpTrack> implements AllocatedStream {
  /** False after `unsubscribe`: the m-section stays, nothing is forwarded on it. */
  wanted = true;
  private preference: LayerPreference = 'auto';
  private ended = false;
  private readonly video: boolean;
  private readonly rewriter: RtpRewriter | undefined;
  private readonly selector: LayerSelector | undefined;
  /** Simulcast video: caps the layer while the subscriber's reports say its link loses packets. */
  private readonly adapter: LossAdapter | undefined;
  private readonly cache: PacketCache | undefined;
  private readonly nacks: NackResponder | undefined;
  private readonly reports: ReportTimer;
  private readonly payloadType: number;
  private packets = 0;
  private octets = 0;
  /** What was sent lately, bits/s, measured at each of our reports (about every second). */
  private sentBps = 0;
  private readonly measured = { atMs: 0, octets: 0 };
  /** The highest layer the subscriber's bandwidth estimate allows (the allocator sets it). */
  bandwidthCeiling = Infinity;
  /**
   * What the subscriber last reported of this stream (its receiver report): loss over its
   * last interval, %, jitter, ms, and the round trip to it, ms (once it has one of our SRs).
   */
  received: { lossPercent: number; jitterMs: number; rttMs: number | undefined } | undefined;
  /** When the subscriber's last RTCP arrived (clock ms; 0: none yet): a viewer that stops reporting is gone. */
  lastFeedbackMs = 0;
  /** The layer index last announced to the subscriber (`layer`), -1 before any. */
  private announced = -1;
  private readonly onRtcp = (packet: Buffer): void => this.handleRtcp(packet);

  constructor(
    readonly publication: Publication,
    readonly track: T,
    readonly subscriber: Subscriber,
    private readonly options: SubscriptionOptions,
  ) {
    this.video = publication.kind === 'video';
    this.payloadType = track.codec?.payloadType ?? publication.codec.payloadType;
    this.rewriter = options.rewriter ?? (this.video ? streamRewriter(track, publication) : undefined);
    if (this.video) {
      this.selector = new LayerSelector({ layerCount: publication.layerCount, preference: this.preference });
      if (publication.simulcast) this.adapter = new LossAdapter();
      this.cache = new PacketCache();
      this.nacks = new NackResponder({ clock: options.clock });
    }
    // Video reads feedback (PLI, NACK); audio only the receiver reports, for quality.
    track.on('rtcp', this.onRtcp);
    this.measured.atMs = options.clock.now();
    this.reports = new ReportTimer(() => this.onReportTimer(), options.reportIntervalMs ?? 1000, options.clock);
    options.allocator?.add(this);
  }

  /** Whether packets are forwarded now. */
  receiving(): boolean {
    return this.wanted && !this.ended && !this.track.closed;
  }

  /** The layer index this subscriber's preference aims at. */
  preferredLayer(): number {
    return layerIndexFor(this.preference, this.publication.layerCount);
  }

  /**
   * The layer it should get now: its preference under its network's cap (for `publish-layers`:
   * a layer a capped subscriber needs stays on at the publisher).
   */
  targetLayer(): number {
    return Math.min(this.preferredLayer(), this.selector?.ceiling ?? Infinity);
  }

  /** The layer forwarded now (-1 before the first key frame; 0 for audio). */
  forwardedLayer(): number {
    return this.selector?.current ?? 0;
  }

  /** The publication's layers' bitrates when the subscriber has a choice (simulcast), else none. */
  layerRates(): readonly number[] {
    return this.publication.simulcast ? this.publication.layerBitrates() : [];
  }

  sentBitrate(): number {
    return this.sentBps;
  }

  setBandwidthCeiling(ceiling: number): void {
    if (ceiling === this.bandwidthCeiling) return;
    this.options.log.debug({ track: this.publication.id, subscriber: this.subscriber.id, estimate: this.options.allocator?.estimate, ceiling }, 'layer cap for bandwidth changed');
    this.bandwidthCeiling = ceiling;
    this.applyCeilings();
  }

  setPreference(preference: LayerPreference): void {
    this.preference = preference;
    this.selector?.setPreference(preference, this.publication.layerCount);
    this.publication.updateActiveLayers();
    this.pursueTarget();
  }

  /** Forwards one packet of the publication (called for every packet: keep it cheap). */
  forward(f: ForwardedPacket): void {
    const packet = f.packet;
    if (!this.video) {
      const rewriter = this.rewriter;
      if (!rewriter) {
        retargetRtp(packet, this.track.localSsrc, this.payloadType);
        if (this.track.send(packet)) this.count(packet.length);
        return;
      }
      if (rewriter.rewrite(packet, f.header, f.nowMs, undefined) && this.track.send(packet)) this.count(packet.length);
      // The buffer is shared: the other subscribers only change SSRC and payload type.
      setRtpSequenceNumber(packet, f.header.sequenceNumber);
      setRtpTimestamp(packet, f.header.timestamp);
      return;
    }
    const selector = this.selector!;
    const pub = this.publication;
    if (!selector.onPacket(f.layer.index, f.keyframe, f.nowMs, pub)) {
      this.pursueTarget();
      return;
    }
    const layer = selector.current;
    if (layer !== this.announced) this.announce(layer);
    if (!this.rewriter!.rewrite(packet, f.header, f.nowMs, f.vp8)) return;
    const sent = this.track.send(packet);
    if (sent) {
      this.count(packet.length);
      this.cache!.put(packet.readUInt16BE(2), packet, f.nowMs);
    }
    // The buffer is shared by every subscriber: put the publisher's VP8 ids back for the next.
    if (f.vp8 && f.vp8.pictureId !== undefined) {
      rewriteVp8Descriptor(packet.subarray(f.header.payloadOffset), f.vp8, f.vp8.pictureId, f.vp8.tl0PicIdx);
    }
    if (!sent && this.packets === 0) this.restartAtKeyframe();
  }

  /**
   * A send failed before anything reached the subscriber (its m-section not negotiated or
   * DTLS not done yet): the key frame we started on was lost, and the deltas after it cannot
   * be decoded. Start over at the next key frame, and ask for one (rate-limited upstream).
   */
  private restartAtKeyframe(): void {
    this.selector!.reset(this.publication.layerCount, -1);
    this.rewriter!.restart();
    this.pursueTarget();
  }

  /** Forwarding starts again after `unsubscribe`: at a key frame, continuing the stream without a gap. */
  resume(): void {
    this.wanted = true;
    if (!this.selector) return;
    this.selector.reset(this.publication.layerCount, -1);
    this.rewriter!.restart();
    this.pursueTarget();
  }

  /** The publication's layers were re-ranked: the selector starts from where it is. */
  layersReranked(): void {
    if (!this.selector) return;
    const ssrc = this.rewriter!.currentSource;
    this.selector.reset(this.publication.layerCount, this.publication.layers.findIndex((l) => l.ssrc === ssrc));
  }

  /** The publisher stopped this track; the m-section stays until reused. */
  publicationEnded(): void {
    this.ended = true;
    this.stop();
  }

  /** Stops everything (the subscriber left or unsubscribed for good). Idempotent. */
  close(): void {
    this.ended = true;
    this.stop();
    this.publication.subscriptions.delete(this);
    this.publication.rebuildFanout();
  }

  private stop(): void {
    this.reports.stop();
    this.track.off('rtcp', this.onRtcp);
    this.options.allocator?.delete(this);
  }

  private count(bytes: number): void {
    this.packets++;
    this.octets += bytes;
  }

  /** Asks the publisher for a key frame of the layer we want to switch to (rate-limited there). */
  private pursueTarget(): void {
    const want = this.selector?.keyframeWanted();
    if (want !== undefined) this.publication.requestKeyframe(want);
  }

  /** A receiver report's loss: the layer cap may move (the switch itself waits for a key frame). */
  private adapt(lossPercent: number): void {
    const selector = this.selector;
    if (!this.adapter || !selector || selector.current < 0) return;
    const ceiling = this.adapter.onReport(lossPercent, selector.current, this.publication.layerCount, this.options.clock.now());
    if (ceiling === undefined) return;
    this.options.log.debug({ track: this.publication.id, subscriber: this.subscriber.id, lossPercent, ceiling }, 'layer cap for loss changed');
    this.applyCeilings();
  }

  /** The lower of the loss and bandwidth caps (the switch itself waits for a key frame). */
  private applyCeilings(): void {
    if (!this.selector) return;
    this.selector.setCeiling(Math.min(this.adapter?.ceiling ?? Infinity, this.bandwidthCeiling));
    // The layer it needs now may be one nobody else gets: the publisher must send it.
    this.publication.updateActiveLayers();
    this.pursueTarget();
  }

  private announce(layer: number): void {
    const names = layerNames(this.publication.layerCount);
    if (this.announced >= 0) this.options.metrics?.layerSwitches.inc();
    this.announced = layer;
    if (!this.publication.simulcast) return;
    const wanted = this.preferredLayer();
    const capped = layer < wanted && this.selector!.ceiling < wanted;
    const byBandwidth = this.bandwidthCeiling <= (this.adapter?.ceiling ?? Infinity);
    const reason: LayerReason = layer === wanted ? 'requested' : capped ? (byBandwidth ? 'bandwidth' : 'loss') : 'unavailable';
    this.options.log.debug({ track: this.publication.id, subscriber: this.subscriber.id, layer: names[layer], reason }, 'forwarded layer changed');
    this.subscriber.send({ type: 'layer', track: this.publication.id, quality: names[layer] ?? 'high', reason });
  }

  private handleRtcp(packet: Buffer): void {
    this.lastFeedbackMs = this.options.clock.now();
    for (const p of readRtcp(packet, this.options.log)) this.handleFeedback(p);
  }

  private handleFeedback(p: RtcpPacket): void {
    if (p.type === 'rr' || p.type === 'sr') {
      const block = p.reports.find((b) => b.ssrc === this.track.localSsrc);
      if (!block) return;
      const now = ntpFromUnixMs(Date.now());
      this.received = {
        lossPercent: (100 * block.fractionLost) / 256,
        jitterMs: (1000 * block.jitter) / this.publication.codec.clockRate,
        rttMs: rttMs(ntpMiddle32(now.seconds, now.fraction), block.lsr, block.dlsr),
      };
      this.adapt(this.received.lossPercent);
    } else if (!this.video) {
      return;
    } else if (p.type === 'remb') {
      this.options.allocator?.onEstimate(p.bitrate, this.options.clock.now());
    } else if (p.type === 'pli' || p.type === 'fir') {
      this.publication.requestKeyframe(this.selector?.current ?? 0);
    } else if (p.type === 'nack' && this.cache) {
      const before = { ...this.nacks!.counters };
      for (const resend of this.nacks!.packetsFor(p, this.cache)) this.track.send(resend);
      const m = this.options.metrics?.nackPackets;
      if (!m) return;
      const after = this.nacks!.counters;
      for (const result of ['resent', 'missing', 'suppressed'] as const) if (after[result] > before[result]) m.inc({ result }, after[result] - before[result]);
    }
  }

  private onReportTimer(): void {
    const now = this.options.clock.now();
    const seconds = (now - this.measured.atMs) / 1000;
    if (seconds > 0) this.sentBps = Math.round((8 * (this.octets - this.measured.octets)) / seconds);
    this.measured.atMs = now;
    this.measured.octets = this.octets;
    this.sendReport();
  }

  private sendReport(): void {
    if (this.packets === 0 || this.track.closed) return;
    const layer = this.publication.layers[this.selector?.current ?? 0];
    const sr = buildForwardedSenderReport({
      ssrc: this.track.localSsrc,
      packets: this.packets,
      octets: this.octets,
      clockRate: this.publication.codec.clockRate,
      lastTimestamp: this.rewriter?.lastTimestamp,
      source: layer?.senderReport,
      timestampOffset: this.rewriter && layer ? this.rewriter.timestampOffsetOf(layer.ssrc) : 0,
      nowMs: Date.now(),
    });
    this.track.send(buildRtcp([
      sr,
      cnameSdes(this.track.localSsrc, this.track.cname),
    ]));
  }
}
