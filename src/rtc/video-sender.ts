/**
 * Sends pre-encoded video as a publisher does, for any codec given its RTP payloader: one
 * SSRC per layer (the track's `localSsrcs`, low → high; one for a single-layer track), each
 * layer's frames looped at `fps`. A PLI or FIR for a layer makes it jump to its next key
 * frame, a layer set inactive (`publish-layers`) stops, and one set active again starts at a
 * key frame. Sender reports go out per layer so the receiving side can map RTP to wall time.
 * This is how Node members (tests, `loadtest --video`) publish camera video without an
 * encoder: Vp8SimulcastSender (vp8-sender.ts) and H264Sender (h264-sender.ts).
 */
import { randomBytes } from 'node:crypto';
import { buildRtcp, cnameSdes, ntpFromUnixMs, type RtcpPacket } from '../media/rtcp.js';
import { RTP_HEADER_MIN, writeRtpHeader, type RtpHeader } from '../media/rtp.js';
import { silentLogger, type Logger } from '../log.js';
import { systemClock, type Clock } from '../time/clock.js';
import { Pacer } from '../time/pacer.js';
import type { MediaTrack } from './media-track.js';
import { readRtcp, ReportTimer } from './rtcp-schedule.js';

const VIDEO_CLOCK_RATE = 90000;

export interface VideoSenderOptions {
  fps: number;
  clock?: Clock;
  logger?: Logger;
  /** Payload bytes per packet, payload headers included (default 1100: under any path MTU with SRTP). */
  maxPayload?: number;
}

/** One codec's RTP payload format, as the sender needs it. */
export interface VideoPayloader<F> {
  keyframe(frame: F): boolean;
  /** The RTP payloads of one frame of layer `layer` (a payloader may keep per-layer state, such as VP8's picture id). */
  packetize(frame: F, layer: number, maxPayload: number): Buffer[];
}

interface LayerState<F> {
  ssrc: number;
  frames: readonly F[];
  keyframes: number[];
  /** Index of the next frame to send. */
  next: number;
  seq: number;
  tsBase: number;
  active: boolean;
  packets: number;
  octets: number;
  lastTimestamp: number;
  /** Monotonic ms when the frame at lastTimestamp went out. */
  lastSentMs: number;
}

export interface VideoSenderStats {
  framesSent: number;
  packetsSent: number;
  /** Key frames sent because the receiver asked (PLI/FIR). */
  keyframesRequested: number;
}

export class VideoSender<F> {
  readonly stats: VideoSenderStats = { framesSent: 0, packetsSent: 0, keyframesRequested: 0 };
  private readonly layers: LayerState<F>[];
  private readonly pacer: Pacer;
  private readonly reports: ReportTimer;
  private readonly payloadType: number;
  private readonly maxPayload: number;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly header: RtpHeader;
  private readonly packet = Buffer.alloc(1500);
  private closed = false;
  private readonly onRtcp = (p: Buffer): void => this.handleRtcp(p);

  /** `layers[i]` are layer i's frames (low → high), one per track SSRC; each must start with a key frame. */
  constructor(
    private readonly track: MediaTrack,
    layers: ReadonlyArray<readonly F[]>,
    private readonly payloader: VideoPayloader<F>,
    options: VideoSenderOptions,
  ) {
    const ssrcs = track.localSsrcs;
    if (layers.length !== ssrcs.length) throw new TypeError(`${layers.length} layers of frames for a track with ${ssrcs.length} SSRCs`);
    this.layers = layers.map((frames, i) => {
      const keyframes = frames.flatMap((f, k) => (payloader.keyframe(f) ? [k] : []));
      if (keyframes[0] !== 0) throw new TypeError(`layer ${i} does not start with a key frame`);
      return {
        ssrc: ssrcs[i]!, frames, keyframes, next: 0, seq: randomBytes(2).readUInt16BE(0), tsBase: randomBytes(4).readUInt32BE(0),
        active: true, packets: 0, octets: 0, lastTimestamp: 0, lastSentMs: 0,
      };
    });
    this.payloadType = track.codec?.payloadType ?? 96;
    this.maxPayload = options.maxPayload ?? 1100;
    this.log = (options.logger ?? silentLogger()).child({ mid: track.mid });
    this.header = {
      padding: false, marker: false, payloadType: this.payloadType, sequenceNumber: 0, timestamp: 0, ssrc: 0,
      csrcs: [], extensionProfile: undefined, extensions: [], extensionData: undefined,
    };
    const clock = options.clock ?? systemClock;
    this.clock = clock;
    track.on('rtcp', this.onRtcp);
    track.once('closed', () => this.close());
    this.pacer = new Pacer((index) => this.tick(index), { intervalMs: 1000 / options.fps, clock, maxBurst: 1 });
    this.pacer.start();
    this.reports = new ReportTimer(() => this.sendReports(), 1000, clock);
  }

  /** Which layers to send (low → high), as `publish-layers` asks. */
  setActive(active: readonly boolean[]): void {
    this.layers.forEach((l, i) => {
      const on = active[i] ?? false;
      if (on && !l.active) l.next = nextKeyframe(l);
      l.active = on;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pacer.stop();
    this.reports.stop();
    this.track.off('rtcp', this.onRtcp);
  }

  private tick(index: number): void {
    if (this.track.closed) return this.close();
    const timestampStep = VIDEO_CLOCK_RATE / (1000 / this.pacer.intervalMs);
    this.layers.forEach((l, i) => {
      if (!l.active) return;
      const frame = l.frames[l.next]!;
      l.next = (l.next + 1) % l.frames.length;
      const timestamp = (l.tsBase + Math.round(index * timestampStep)) >>> 0;
      const payloads = this.payloader.packetize(frame, i, this.maxPayload);
      l.lastTimestamp = timestamp;
      l.lastSentMs = this.clock.now();
      payloads.forEach((payload, k) => this.sendPacket(l, payload, timestamp, k === payloads.length - 1));
      this.stats.framesSent++;
    });
  }

  private sendPacket(l: LayerState<F>, payload: Buffer, timestamp: number, marker: boolean): void {
    const h = this.header;
    h.marker = marker;
    h.sequenceNumber = l.seq;
    h.timestamp = timestamp;
    h.ssrc = l.ssrc;
    writeRtpHeader(h, this.packet, 0);
    payload.copy(this.packet, RTP_HEADER_MIN);
    l.seq = (l.seq + 1) & 0xffff;
    if (this.track.send(this.packet.subarray(0, RTP_HEADER_MIN + payload.length))) {
      l.packets++;
      l.octets += payload.length;
      this.stats.packetsSent++;
    }
  }

  private handleRtcp(packet: Buffer): void {
    for (const p of readRtcp(packet, this.log)) {
      const asked = p.type === 'pli' ? [p.mediaSsrc] : p.type === 'fir' ? p.entries.map((e) => e.ssrc) : [];
      for (const ssrc of asked) {
        const l = this.layers.find((x) => x.ssrc === ssrc);
        if (!l || !l.active) continue;
        l.next = nextKeyframe(l);
        this.stats.keyframesRequested++;
      }
    }
  }

  private sendReports(): void {
    if (this.track.closed) return;
    const ntp = ntpFromUnixMs(Date.now());
    const packets: RtcpPacket[] = [];
    for (const l of this.layers) {
      if (l.packets === 0) continue;
      packets.push({
        // The RTP time of "now", moved on from the last frame (RFC 3550 §6.4.1), so receivers can sync.
        type: 'sr', ssrc: l.ssrc, ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction,
        rtpTimestamp: (l.lastTimestamp + Math.round(((this.clock.now() - l.lastSentMs) * VIDEO_CLOCK_RATE) / 1000)) >>> 0,
        packetCount: l.packets, octetCount: l.octets, reports: [],
      });
    }
    if (packets.length === 0) return;
    packets.push(cnameSdes(this.layers[0]!.ssrc, this.track.cname));
    this.track.send(buildRtcp(packets));
  }
}

/** The key frame at or after the next frame to send (wrapping), so a request is met at once. */
function nextKeyframe<F>(l: LayerState<F>): number {
  return l.keyframes.find((k) => k >= l.next) ?? l.keyframes[0]!;
}
