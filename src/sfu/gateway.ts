/**
 * The PCM gateway inside an SFU room (PROTOCOL.md "The PCM gateway"): members whose audio
 * comes through an AudioLeg (PCM and phone clients) take part with no WebRTC connection.
 *
 * - What a leg says is encoded to Opus here and published as its microphone, through a
 *   LocalTrack, so every WebRTC member receives it like anyone's (the router subscribes them).
 *   While its voice gate is closed, a leg publishes Opus silence frames: nothing to encode.
 * - What a leg hears is mixed here, once per room: each WebRTC member's audio publication is
 *   received once (a Subscription whose LocalTrack feeds a jitter buffer and decoder,
 *   media/opus-playout.ts: packets back in order, losses concealed); the legs' own frames go
 *   into the mix as they are, never through Opus and back. Each 20 ms tick sums one frame of
 *   every feed and every talking leg. A talking leg gets that sum less its own voice; every
 *   other leg gets the sum itself, one SharedFrame, which each client format converts once.
 *   So a room's cost grows with its talkers, plus per listener little more than the write.
 */
import type { Logger } from '../log.js';
import { OpusEncoderStream } from '../media/opus.js';
import { OpusPlayout } from '../media/opus-playout.js';
import { clampInt16 } from '../media/pcm.js';
import { parseRtpHeader, type RtpPacketInfo } from '../media/rtp.js';
import { SILENCE_FRAMES } from '../media/opus-packet.js';
import { LEG_FRAME_SAMPLES, LEG_SAMPLE_RATE, SharedFrame, type AudioLeg } from '../rooms/audio-leg.js';
import { LocalTrack } from '../rtc/local-track.js';
import { OPUS_FMTP } from '../rtc/native.js';
import type { SdpCodec } from '../rtc/sdp.js';
import type { Clock } from '../time/clock.js';
import { Pacer } from '../time/pacer.js';
import type { Publication } from './publication.js';
import { Subscription, type Subscriber } from './subscription.js';

/** The codec of a leg's published microphone, as a browser's would be. */
export const GATEWAY_OPUS: SdpCodec = { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: OPUS_FMTP, rtcpFb: [] };

/** Nobody is told anything about the gateway's own subscriptions (audio has no layers). */
const NO_ONE: Subscriber = { id: 'gateway', send: () => {} };

/** One speaker as the gateway hears it: its packets in a jitter buffer, decoded (or concealed) at the mixer's tick. */
class Feed {
  readonly track: LocalTrack;
  readonly subscription: Subscription<LocalTrack>;
  private readonly playout = new OpusPlayout(LEG_SAMPLE_RATE);

  constructor(readonly publication: Publication, clock: Clock, private readonly log: Logger) {
    this.track = new LocalTrack('gateway', 'audio', publication.codec, (packet) => this.onRtp(packet));
    this.subscription = new Subscription(publication, this.track, NO_ONE, { clock, log });
  }

  /** The frame to mix now, or undefined (nothing to mix: not started, or gone silent). */
  take(): Int16Array | undefined {
    return this.playout.take();
  }

  close(): void {
    this.subscription.close();
    this.track.close();
    this.playout.release();
    this.log.debug({ publication: this.publication.id, ...this.playout.stats, targetMs: this.playout.targetMs }, 'gateway feed closed');
  }

  private onRtp(packet: Buffer): void {
    let h: RtpPacketInfo;
    try {
      h = parseRtpHeader(packet);
    } catch {
      return; // the router forwards parsed packets only
    }
    this.playout.push(h.sequenceNumber, packet.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength));
  }
}

/** 20 ms of Opus silence (CELT, decodes to zeros): what a leg publishes while its voice gate is closed. */
const OPUS_SILENCE = SILENCE_FRAMES.find(([samples]) => samples === LEG_FRAME_SAMPLES)![1];
const ZEROS = new Int16Array(LEG_FRAME_SAMPLES);
/** How often a leg's encoder hears its subscribers' loss: every second (receivers report every 1-5 s). */
const LOSS_REPORT_TICKS = 50;

/** One gateway member: its leg, the track it publishes on and the encoder feeding it. */
class GatewayLegState {
  readonly track = new LocalTrack('0', 'audio', GATEWAY_OPUS);
  private readonly encoder = new OpusEncoderStream(LEG_SAMPLE_RATE);
  private readonly header = Buffer.alloc(12);
  private seq = Math.floor(Math.random() * 0x10000);
  private timestamp = Math.floor(Math.random() * 0x100000000);
  /** Its own publication, so its voice stays out of what it hears and out of the mix when muted. */
  publication: Publication | undefined;
  /** What it said this tick, if it goes into the mix. */
  said: Int16Array | undefined;
  /** Whether its last packet was an Opus silence frame. */
  private silent = false;
  /** Ticks since its encoder last heard how lossy its subscribers' links are. */
  private sinceLossReport = 0;
  readonly out = new Int16Array(LEG_FRAME_SAMPLES);

  constructor(readonly memberId: string, readonly leg: AudioLeg) {
    this.header[0] = 0x80;
    this.header[1] = GATEWAY_OPUS.payloadType;
    this.header.writeUInt32BE(this.track.localSsrc, 8);
  }

  /**
   * This tick's 20 ms of the member's microphone, handed to its publication as RTP: `frame`
   * encoded, or Opus silence when it has nothing to say (its gate closed, its audio late or
   * not started), which costs no encoding and keeps the stream's timing whole.
   */
  say(frame: Int16Array | undefined): void {
    if (this.track.closed) return;
    if (frame && this.silent) {
      // Receivers decoded silence frames our encoder never made: its energy prediction still
      // expects the last voice, and their decoders would shape the next 80 ms of it nearly
      // silent (measured: RMS 51, 574, 1987, 3720 of a 6951 tone). One frame of zeros through
      // the encoder puts it where their decoders are.
      this.encoder.encode(ZEROS);
    }
    this.silent = frame === undefined;
    if (++this.sinceLossReport >= LOSS_REPORT_TICKS) this.reportLoss();
    const payload = frame ? this.encoder.encode(frame) : OPUS_SILENCE;
    this.header.writeUInt16BE(this.seq, 2);
    this.header.writeUInt32BE(this.timestamp >>> 0, 4);
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + LEG_FRAME_SAMPLES) >>> 0;
    this.track.deliver(Buffer.concat([this.header, payload]));
  }

  /**
   * The worst loss its subscribers' receiver reports say, to its encoder: on a lossy link it
   * codes in-band FEC the receivers rebuild lost frames from (as the bot and the mesh gateway do).
   */
  private reportLoss(): void {
    this.sinceLossReport = 0;
    let worst = 0;
    for (const s of this.publication?.subscriptions ?? []) worst = Math.max(worst, (s.received?.lossPercent ?? 0) / 100);
    this.encoder.reportLoss(worst);
  }

  close(): void {
    this.track.close();
    this.encoder.release();
  }
}

export interface SfuGatewayOptions {
  clock: Clock;
  log: Logger;
}

export class SfuGateway {
  private readonly feeds = new Map<string, Feed>();
  private readonly legs = new Map<string, GatewayLegState>();
  private readonly pacer: Pacer;
  private readonly sum = new Int32Array(LEG_FRAME_SAMPLES);
  /** What every leg not talking hears: the sum, clamped; or silence when nobody talks. */
  private readonly mix = new Int16Array(LEG_FRAME_SAMPLES);
  private readonly shared = new SharedFrame();
  private readonly silence = new Int16Array(LEG_FRAME_SAMPLES);
  private readonly sharedSilence = new SharedFrame();

  constructor(private readonly options: SfuGatewayOptions) {
    this.pacer = new Pacer(() => this.tick(), { intervalMs: 20, clock: options.clock });
  }

  get legCount(): number {
    return this.legs.size;
  }

  /** A gateway member joins: returns the track its microphone is published on. */
  addLeg(memberId: string, leg: AudioLeg): LocalTrack {
    const state = new GatewayLegState(memberId, leg);
    this.legs.set(memberId, state);
    if (this.legs.size === 1) this.pacer.start();
    return state.track;
  }

  /** Its publication exists: mixed from the leg itself, never received as a feed. */
  setLegPublication(memberId: string, publication: Publication): void {
    const state = this.legs.get(memberId);
    if (state) state.publication = publication;
  }

  removeLeg(memberId: string): void {
    const state = this.legs.get(memberId);
    if (!state) return;
    this.legs.delete(memberId);
    state.close();
    if (this.legs.size === 0) this.pacer.stop();
  }

  /** An audio publication of the room: heard by every leg from now on. */
  addFeed(publication: Publication): void {
    if (publication.kind !== 'audio' || this.feeds.has(publication.id)) return;
    for (const state of this.legs.values()) if (state.publication === publication) return;
    const feed = new Feed(publication, this.options.clock, this.options.log);
    publication.subscriptions.add(feed.subscription);
    publication.rebuildFanout();
    this.feeds.set(publication.id, feed);
  }

  /** The publication ended (its Subscription was told by the publication). */
  removeFeed(publicationId: string): void {
    const feed = this.feeds.get(publicationId);
    if (!feed) return;
    this.feeds.delete(publicationId);
    feed.close();
  }

  close(): void {
    this.pacer.stop();
    for (const feed of this.feeds.values()) feed.close();
    this.feeds.clear();
    for (const state of this.legs.values()) state.close();
    this.legs.clear();
    this.shared.close();
    this.sharedSilence.close();
  }

  /**
   * Every 20 ms: what each leg says goes out as its microphone; one frame of each feed and
   * of each talking leg is summed. A talking leg hears the sum less its own frame, the others
   * the shared frame of the whole sum.
   */
  private tick(): void {
    const sum = this.sum;
    sum.fill(0);
    let talkers = 0;
    for (const feed of this.feeds.values()) {
      const frame = feed.take();
      if (!frame) continue;
      talkers++;
      for (let i = 0; i < sum.length; i++) sum[i]! += frame[i]!;
    }
    for (const state of this.legs.values()) {
      const said = state.leg.take();
      state.say(said);
      // A muted leg's publication forwards nothing; its voice stays out of the mix too.
      state.said = said && state.publication?.serverMuted !== true ? said : undefined;
      if (!state.said) continue;
      talkers++;
      for (let i = 0; i < sum.length; i++) sum[i]! += said![i]!;
    }
    if (talkers > 0) for (let i = 0; i < sum.length; i++) this.mix[i] = clampInt16(sum[i]!);
    this.shared.tick++;
    this.sharedSilence.tick++;
    for (const state of this.legs.values()) {
      const own = state.said;
      if (!own) {
        if (talkers > 0) state.leg.play(this.mix, this.shared);
        else state.leg.play(this.silence, this.sharedSilence);
      } else if (talkers === 1) {
        state.leg.play(this.silence, this.sharedSilence);
      } else {
        // From the unclamped sum: subtracting from a clamped one would distort whoever is loud.
        const out = state.out;
        for (let i = 0; i < out.length; i++) out[i] = clampInt16(sum[i]! - own[i]!);
        state.leg.play(out);
      }
    }
  }
}
