/**
 * One track a member publishes into an SFU room (its microphone, camera or screen), as the
 * server receives it: the publisher's m-section, its layers (one per SSRC, up to three for
 * simulcast, ranked low → high by the resolution in their key frames), receiver reports back
 * to the publisher, key-frame requests, and the fan-out of every packet to the subscriptions
 * that forward it. Each packet is parsed once here; subscriptions only rewrite and send.
 */
import type { Logger } from '../log.js';
import { h264StartsKeyframe } from '../media/h264.js';
import { buildRtcp, parseRtcp } from '../media/rtcp.js';
import { blankRtpHeaderExtensions, type RtpPacketInfo } from '../media/rtp.js';
import { parseVp8Descriptor, vp8KeyframeSize, type Vp8Descriptor } from '../media/vp8.js';
import type { Quality, TrackInfo, TrackSource } from '../protocol/signaling.js';
import { offeredSimulcastRids } from '../rtc/answer-plan.js';
import type { RtpTrack } from '../rtc/media-track.js';
import { ReportTimer } from '../rtc/rtcp-schedule.js';
import { RtpReceiver } from '../rtc/rtp-receiver.js';
import type { SdpCodec } from '../rtc/sdp.js';
import type { Clock } from '../time/clock.js';
import { KeyframeRequester } from './keyframe-requester.js';
import { layerNames } from './layers.js';
import type { SfuMetrics } from './metrics.js';
import type { Subscription } from './subscription.js';

/** One encoding of a published track: one SSRC. */
export interface LayerStream {
  readonly ssrc: number;
  /** Its place low → high among the track's layers (re-ranked as key frames show sizes). */
  index: number;
  /** From its last key frame (0 before one arrives). */
  width: number;
  height: number;
  /** Monotonic ms of its last packet: a layer that stops is skipped by subscribers. */
  lastPacketMs: number;
  /** The publisher's last sender report for it: NTP ↔ RTP mapping for our reports. */
  senderReport: { ntpSeconds: number; ntpFraction: number; rtpTimestamp: number } | undefined;
  /** Its bitrate at the last measurement, bits/s (the last nonzero: a paused layer keeps it; 0 before any). */
  bitrate: number;
}

/** What a subscription is handed per packet (one object, reused: read it synchronously). */
export interface ForwardedPacket {
  packet: Buffer;
  header: RtpPacketInfo;
  layer: LayerStream;
  /** First packet of a key frame (video). */
  keyframe: boolean;
  /** VP8 only: the descriptor as the publisher sent it (the packet's bytes get rewritten). */
  vp8: Vp8Descriptor | undefined;
  nowMs: number;
}

/**
 * What we tell a video publisher it may send (REMB), bits/s: enough for three simulcast layers
 * up to 720p. Browsers negotiate goog-remb with us and, without transport-cc feedback, take the
 * last REMB as their bandwidth estimate; with none they stay near 300 kbit/s and pause the top
 * layer. A measured estimate replaces this constant with the quality work (issue 15).
 */
export const PUBLISHER_REMB_BITRATE = 6_000_000;

/** Wait before telling a publisher its active layers again when none of them arrives, ms; doubled each time up to the max. */
const ACTIVE_LAYERS_RETRY_MS = 2000;
const ACTIVE_LAYERS_MAX_RETRY_MS = 30_000;

export interface PublicationOptions {
  publisher: string;
  source: TrackSource;
  track: RtpTrack;
  codec: SdpCodec;
  clock: Clock;
  log: Logger;
  /** Told when the layers change (count), so the room's `tracks` list is resent. */
  onLayersChanged: () => void;
  /** Told the layers subscribers want changed, so the publisher hears `publish-layers`. */
  onActiveLayers: (active: Quality[]) => void;
  /** What a video publisher is told it may send (REMB), bits/s: `serve --max-video-bitrate` caps it. Default PUBLISHER_REMB_BITRATE. */
  rembBitrate?: number;
  metrics?: SfuMetrics;
}

/**
 * `<publisher id>-<source>`: a member publishes at most one track per source. (Not `:`, which
 * SDP does not allow in an a=msid track id, where subscribers see it.)
 */
export function trackId(publisher: string, source: TrackSource): string {
  return `${publisher}-${source}`;
}

export class Publication {
  readonly id: string;
  readonly publisher: string;
  readonly source: TrackSource;
  readonly kind: 'audio' | 'video';
  readonly codec: SdpCodec;
  readonly track: RtpTrack;
  /** Offered as simulcast (a=simulcast with rids, or an SSRC group SIM). */
  readonly simulcast: boolean;
  /** Ranked low → high (`layers[i].index === i`). */
  readonly layers: LayerStream[] = [];
  /** Subscriptions that receive packets now (rebuilt on change; the packet loop reads it). */
  fanout: Subscription[] = [];
  readonly subscriptions = new Set<Subscription>();
  /** Muted through the room API: nothing is forwarded (reports go on). */
  serverMuted = false;
  /** Clock ms of its first packet (undefined before one). */
  flowingSince: number | undefined;
  private readonly expectedLayers: number;
  private readonly bySsrc = new Map<number, LayerStream>();
  private readonly receiver: RtpReceiver;
  private readonly keyframes: KeyframeRequester;
  private readonly remb: ReportTimer | undefined;
  private readonly vp8: boolean;
  private readonly h264: boolean;
  private readonly clock: Clock;
  private readonly log: Logger;
  private activeLayers = '';
  /** When the publisher was last told its active layers, and how long to wait before telling it again while none of them arrives. */
  private activeToldMs = 0;
  private activeRetryMs = ACTIVE_LAYERS_RETRY_MS;
  private readonly current: ForwardedPacket = {
    packet: Buffer.alloc(0), header: undefined as unknown as RtpPacketInfo, layer: undefined as unknown as LayerStream,
    keyframe: false, vp8: undefined, nowMs: 0,
  };
  private readonly onRtcp = (packet: Buffer): void => this.handleRtcp(packet);
  /** When the layers' bitrates were last measured (clock ms), and each source's byte count then (the receiver's). */
  private measuredAtMs: number;
  private readonly measuredBytes = new Map<number, number>();

  constructor(private readonly options: PublicationOptions) {
    this.publisher = options.publisher;
    this.source = options.source;
    this.id = trackId(options.publisher, options.source);
    this.track = options.track;
    this.kind = options.track.kind;
    this.codec = options.codec;
    this.clock = options.clock;
    this.measuredAtMs = options.clock.now();
    this.log = options.log;
    const name = options.codec.name.toUpperCase();
    this.vp8 = this.kind === 'video' && name === 'VP8';
    this.h264 = this.kind === 'video' && name === 'H264';
    const media = options.track.remoteMedia;
    const rids = media ? offeredSimulcastRids(media) : [];
    const simGroup = media?.ssrcGroups.find((g) => g.semantics === 'SIM');
    this.expectedLayers = this.kind === 'video' ? Math.max(1, rids.length, Math.min(3, simGroup?.ssrcs.length ?? 0)) : 1;
    this.simulcast = this.expectedLayers > 1;
    // Layers in signaled order first (rid order, or the SIM group's): ranked by size once key frames show it.
    for (const ssrc of simGroup?.ssrcs.slice(0, 3) ?? []) this.layerFor(ssrc);
    this.receiver = new RtpReceiver(options.track, {
      attach: false,
      clock: options.clock,
      logger: options.log,
      onPacket: (packet, header) => this.route(packet, header),
    });
    options.track.onRtp = (packet) => this.receiver.handleRtp(packet);
    options.track.on('rtcp', this.onRtcp);
    this.keyframes = new KeyframeRequester({
      send: (rtcp) => options.track.send(rtcp),
      senderSsrc: options.track.localSsrc,
      fir: options.codec.rtcpFb.includes('ccm fir') && !options.codec.rtcpFb.includes('nack pli'),
      clock: options.clock,
    });
    if (this.kind === 'video') this.remb = new ReportTimer(() => this.sendRemb(), 1000, options.clock);
  }

  /** Layer names this track offers subscribers (`[]` when not simulcast). */
  layerNames(): Quality[] {
    return this.simulcast ? layerNames(Math.max(this.expectedLayers, this.layers.length)) : [];
  }

  info(muted: boolean): TrackInfo {
    return {
      id: this.id,
      publisher: this.publisher,
      kind: this.kind,
      source: this.source,
      codec: this.codec.name,
      layers: this.layerNames(),
      muted,
    };
  }

  /** The number of layers subscribers choose among (1 when not simulcast). */
  get layerCount(): number {
    return this.simulcast ? Math.max(this.expectedLayers, this.layers.length) : 1;
  }

  /** Whether layer `index` sent anything within `withinMs`. */
  isLive(index: number, nowMs: number, withinMs = 1500): boolean {
    const layer = this.layers[index];
    return layer !== undefined && layer.lastPacketMs > 0 && nowMs - layer.lastPacketMs <= withinMs;
  }

  /** Asks the publisher for a key frame on layer `index` (rate-limited per SSRC). */
  requestKeyframe(index: number): void {
    const layer = this.layers[index] ?? this.layers[0];
    if (layer && this.keyframes.request(layer.ssrc)) this.options.metrics?.keyframeRequests.inc();
  }

  keyframeRequests(): { sent: number; coalesced: number } {
    return this.keyframes.counters();
  }

  rebuildFanout(): void {
    this.fanout = [...this.subscriptions].filter((s) => s.receiving());
    this.updateActiveLayers();
  }

  /**
   * Tells the publisher which layers someone wants (what each subscription aims at). Not
   * before every layer has been seen: a browser's SSRCs reach us in a re-offer it makes only
   * once it sends them (static/js/sfu-sdp.js), so a layer paused before that would stay unknown.
   */
  updateActiveLayers(): void {
    if (!this.simulcast || this.layers.length < this.expectedLayers || this.layers.some((l) => l.lastPacketMs === 0)) return;
    const names = this.layerNames();
    const wanted = new Set<number>();
    for (const s of this.subscriptions) if (s.receiving()) wanted.add(s.targetLayer());
    const active = names.filter((_, i) => wanted.has(i));
    const key = active.join(',');
    if (key === this.activeLayers) return;
    this.activeLayers = key;
    this.tellActiveLayers(active);
  }

  private tellActiveLayers(active: Quality[]): void {
    this.activeToldMs = this.clock.now();
    this.options.onActiveLayers(active);
  }

  /**
   * Someone wants a layer but none of the wanted ones arrives: the publisher missed or could
   * not apply our last `publish-layers` (a browser's setParameters can fail mid-negotiation),
   * and would otherwise stay paused for good. Told again, backing off to once every 30 s (a
   * camera turned off is silent too).
   */
  private checkActiveLayers(nowMs: number): void {
    if (!this.simulcast || this.activeLayers === '') return;
    const names = this.layerNames();
    const active = this.activeLayers.split(',') as Quality[];
    if (active.some((q) => this.isLive(names.indexOf(q), nowMs))) {
      this.activeRetryMs = ACTIVE_LAYERS_RETRY_MS;
      return;
    }
    if (nowMs - this.activeToldMs < this.activeRetryMs) return;
    this.activeRetryMs = Math.min(this.activeRetryMs * 2, ACTIVE_LAYERS_MAX_RETRY_MS);
    this.log.debug({ track: this.id, active }, 'none of the wanted layers arrives: publish-layers again');
    this.tellActiveLayers(active);
  }

  /** What the server has received of this track, all layers together, since it began: for quality. */
  uplink(): { expected: number; received: number; bytes: number; jitterMs: number } {
    let expected = 0, received = 0, bytes = 0, jitterMs = 0;
    for (const s of this.receiver.stats()) {
      expected += s.expected;
      received += s.received;
      bytes += s.bytes;
      jitterMs = Math.max(jitterMs, s.jitterMs);
    }
    return { expected, received, bytes, jitterMs };
  }

  close(): void {
    this.remb?.stop();
    this.receiver.close();
    this.keyframes.close();
    this.track.off('rtcp', this.onRtcp);
    if (this.track.onRtp) this.track.onRtp = undefined;
    for (const s of this.subscriptions) s.publicationEnded();
    this.subscriptions.clear();
    this.fanout = [];
  }

  private layerFor(ssrc: number): LayerStream | undefined {
    let layer = this.bySsrc.get(ssrc);
    if (layer) return layer;
    if (this.bySsrc.size >= Math.max(this.expectedLayers, 1)) {
      if (this.layers.some((l) => l.lastPacketMs > 0)) return undefined; // an extra stream (RTX, a fourth rid): not media we forward
      // Only signaled-but-silent layers so far: the publisher chose other SSRCs; start over.
      this.bySsrc.clear();
      this.layers.length = 0;
    }
    layer = { ssrc, index: this.layers.length, width: 0, height: 0, lastPacketMs: 0, senderReport: undefined, bitrate: 0 };
    this.bySsrc.set(ssrc, layer);
    this.layers.push(layer);
    this.log.debug({ track: this.id, ssrc, layer: layer.index }, 'layer stream added');
    if (this.simulcast) this.options.onLayersChanged();
    return layer;
  }

  private route(packet: Buffer, header: RtpPacketInfo): void {
    const layer = this.layerFor(header.ssrc);
    if (!layer) return;
    const now = this.clock.now();
    const first = layer.lastPacketMs === 0;
    this.flowingSince ??= now;
    layer.lastPacketMs = now;
    if (first) this.updateActiveLayers();
    const f = this.current;
    f.packet = packet;
    f.header = header;
    f.layer = layer;
    f.nowMs = now;
    f.keyframe = false;
    f.vp8 = undefined;
    if (this.kind === 'video') {
      const payload = packet.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength);
      if (payload.length === 0) return; // padding-only probes carry no media
      if (this.vp8) {
        try {
          f.vp8 = parseVp8Descriptor(payload);
        } catch {
          return; // a packet we cannot rewrite would corrupt every subscriber's stream
        }
        f.keyframe = f.vp8.keyframe;
        if (f.keyframe) this.sizeFromKeyframe(layer, payload.subarray(f.vp8.length));
      } else if (this.h264) {
        f.keyframe = h264StartsKeyframe(payload);
      }
      if (f.keyframe) this.keyframes.keyframeArrived(layer.ssrc);
    }
    if (this.serverMuted) return;
    // Our subscribers negotiated their own extensions with us: the publisher's MID/RID among
    // them would make a browser route this packet to whichever of its sections has that MID.
    blankRtpHeaderExtensions(packet, header);
    const fanout = this.fanout;
    for (let i = 0; i < fanout.length; i++) fanout[i]!.forward(f);
  }

  private sizeFromKeyframe(layer: LayerStream, frame: Uint8Array): void {
    const size = vp8KeyframeSize(frame);
    if (!size || (size.width === layer.width && size.height === layer.height)) return;
    layer.width = size.width;
    layer.height = size.height;
    this.rank();
  }

  /**
   * Orders the layers whose size is known by resolution, within the places they hold: a layer
   * not seen yet (paused, or no key frame so far) keeps its signaled place, so a publisher
   * sending only its top layer does not have it ranked `low`.
   */
  private rank(): void {
    const known = this.layers.filter((l) => l.width > 0);
    if (known.length < 2) return;
    const slots = known.map((l) => l.index);
    const sorted = [...known].sort((a, b) => a.width * a.height - b.width * b.height || a.index - b.index);
    if (sorted.every((l, i) => l === known[i])) return;
    sorted.forEach((l, i) => { l.index = slots[i]!; this.layers[slots[i]!] = l; });
    this.log.debug({ track: this.id, layers: this.layers.map((l) => `${l.width}x${l.height}`) }, 'layers re-ranked by resolution');
    for (const s of this.subscriptions) s.layersReranked();
  }

  /** Each layer's bitrate low → high, bits/s, as last measured (0: not yet). */
  layerBitrates(): number[] {
    return this.layers.map((l) => l.bitrate);
  }

  /** Each layer's bitrate over the last second, from the bytes the receiver counts per source (nothing counted per packet here). */
  private measureLayers(now: number): void {
    const seconds = (now - this.measuredAtMs) / 1000;
    this.measuredAtMs = now;
    for (const s of this.receiver.stats()) {
      const before = this.measuredBytes.get(s.ssrc);
      this.measuredBytes.set(s.ssrc, s.bytes);
      const layer = this.bySsrc.get(s.ssrc);
      if (before === undefined || !layer || !(seconds > 0) || s.bytes === before) continue;
      layer.bitrate = Math.round(((s.bytes - before) * 8) / seconds);
    }
  }

  private sendRemb(): void {
    if (this.layers.length === 0 || this.track.closed) return;
    this.measureLayers(this.clock.now());
    this.checkActiveLayers(this.clock.now());
    this.track.send(buildRtcp([{
      type: 'remb', senderSsrc: this.track.localSsrc, bitrate: this.options.rembBitrate ?? PUBLISHER_REMB_BITRATE, ssrcs: this.layers.map((l) => l.ssrc),
    }]));
  }

  private handleRtcp(packet: Buffer): void {
    let packets;
    try {
      packets = parseRtcp(packet);
    } catch {
      return; // junk from a peer is ignored (the receiver logs it)
    }
    for (const p of packets) {
      if (p.type !== 'sr') continue;
      const layer = this.bySsrc.get(p.ssrc);
      if (layer) layer.senderReport = { ntpSeconds: p.ntpSeconds, ntpFraction: p.ntpFraction, rtpTimestamp: p.rtpTimestamp };
    }
  }
}
