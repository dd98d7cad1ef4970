/**
 * PCM mode: pairs of /ws/pcm clients (PROTOCOL.md "PCM pairing"), each end sending a 440 Hz
 * tone in 20 ms frames and counting what its partner's frames do. Written against the
 * protocol with `ws` rather than on PcmClient because a load generator must not spend its CPU
 * on media: one frame is made per 20 ms for every client (PcmClient encodes per client, ~80 µs
 * of Opus a frame, and decodes everything it hears). Frames carry no sequence number, so a
 * frame is matched to its send time first in, first out: exact while the server drops
 * nothing (it counts its drops in /metrics).
 */
import { updateJitter } from '../media/rtcp.js';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { CallpeerError, toCallpeerError } from '../errors.js';
import type { Logger } from '../log.js';
import { OpusEncoderStream } from '../media/opus.js';
import { int16ToBytes } from '../media/pcm.js';
import { ToneGenerator } from '../media/tone.js';
import { pcmSocketUrl } from '../client/pcm-client.js';
import { CLOSE_NORMAL } from '../protocol/close-codes.js';
import { parsePcmServerMessage, type PcmCodec, type PcmServerMessage } from '../protocol/pcm.js';
import { Pacer } from '../time/pacer.js';
import type { PcmLoadParams } from './params.js';
import { streamKbps, type LatencyHistogram, type PeerFigures } from './stats.js';

const RATE = 48000;
const FRAME_SAMPLES = 960;
/** Unsent audio beyond this in a socket is real time lost: the frame is skipped, not queued. */
const MAX_BUFFERED_BYTES = 64 * 1024;

/** One tone frame per 20 ms, handed to every paired client. */
export class PcmBroadcast {
  private readonly clients = new Set<PcmTester>();
  private readonly tone = new ToneGenerator(440, RATE, 0.5);
  private readonly samples = new Int16Array(FRAME_SAMPLES);
  private readonly encoder: OpusEncoderStream | undefined;
  private readonly pacer = new Pacer((_i, skipped) => this.tick(skipped));
  skippedFrames = 0;

  constructor(codec: PcmCodec) {
    this.encoder = codec === 'opus' ? new OpusEncoderStream(RATE) : undefined;
  }

  add(c: PcmTester): void { this.clients.add(c); }
  delete(c: PcmTester): void { this.clients.delete(c); }
  start(): void { this.pacer.start(); }

  stop(): void {
    this.pacer.stop();
    this.encoder?.release();
  }

  private tick(skipped: number): void {
    this.skippedFrames += skipped;
    const pcm = this.tone.next(FRAME_SAMPLES, this.samples);
    // A fresh buffer each tick: ws may still hold the previous one in a socket's queue.
    const frame = this.encoder ? this.encoder.encode(pcm) : Buffer.from(int16ToBytes(pcm));
    const now = performance.now();
    for (const c of this.clients) c.send(frame, now);
  }
}

export interface PcmTesterContext {
  params: PcmLoadParams;
  broadcast: PcmBroadcast;
  latency: LatencyHistogram;
  log: Logger;
  /** Pair codes are `<prefix>-<n>`, so both ends of a pair find each other and nobody else. */
  pairPrefix: string;
}

export class PcmTester {
  /** The other end of the pair (index ^ 1). */
  partner: PcmTester | undefined;
  private ws: WebSocket | undefined;
  private readonly errors: Record<string, number> = {};
  private readonly pair: string;
  private startAt = 0;
  /** The socket opened (the "join" of PCM mode). */
  private openAt: number | undefined;
  /** The server said `connected`: paired, audio flows. */
  private pairedAt: number | undefined;
  private firstAt: number | undefined;
  private lastAt = 0;
  private paired = false;
  private sending = true;
  private stopping = false;
  /** Send times of frames not yet heard by the partner (a queue: `head` is its front). */
  private readonly sendTimes: number[] = [];
  private head = 0;
  private sent = 0;
  private sentBytes = 0;
  private firstSendAt: number | undefined;
  private lastSendAt = 0;
  private received = 0;
  private receivedBytes = 0;
  private latencySum = 0;
  private latencyCount = 0;
  /** RFC 3550 A.8 jitter on the matched send times, ms. */
  private jitterMs = 0;
  private lastTransit: number | undefined;

  constructor(private readonly ctx: PcmTesterContext, readonly index: number) {
    this.pair = `${ctx.pairPrefix}-${index >> 1}`;
  }

  get joined(): boolean {
    return this.openAt !== undefined;
  }

  /** Connects and waits until paired (or fails); never rejects. */
  async start(): Promise<void> {
    this.startAt = performance.now();
    const p = this.ctx.params;
    try {
      const url = pcmSocketUrl(p.url, { codec: p.codec, rate: RATE, pair: this.pair, ...(p.token !== undefined && { token: p.token }) });
      const ws = new WebSocket(url, { rejectUnauthorized: !p.insecure, handshakeTimeout: 10_000 });
      this.ws = ws;
      ws.on('message', (data: Buffer, isBinary) => (isBinary ? this.onFrame(data) : this.onControl(data.toString())));
      ws.on('close', () => {
        this.paired = false;
        this.ctx.broadcast.delete(this);
        this.count('socket-closed');
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', (err) => reject(new CallpeerError('CONNECTION_FAILED', err.message, { cause: err })));
      });
      this.openAt = performance.now();
      ws.on('error', (err) => this.ctx.log.debug({ err }, 'pcm load socket error'));
      this.ctx.broadcast.add(this);
    } catch (err) {
      this.count(toCallpeerError(err, 'CONNECTION_FAILED').code);
    }
  }

  /** Sends the tick's frame when paired; `now` is when the tick began. */
  send(frame: Buffer, now: number): void {
    const ws = this.ws;
    if (!this.paired || !this.sending || !ws || ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.count('send-skipped');
      return;
    }
    ws.send(frame, { binary: true });
    this.sendTimes.push(now);
    this.sent++;
    this.sentBytes += frame.length;
    this.firstSendAt ??= now;
    this.lastSendAt = now;
  }

  quiesce(): void {
    this.sending = false;
  }

  snapshot(): PeerFigures {
    const rel = (t: number | undefined) => (t === undefined ? null : t - this.startAt);
    const expected = this.partner?.sent ?? 0;
    const partnerName = `pcm-${this.index ^ 1}`;
    return {
      index: this.index,
      id: `pcm-${this.index}`,
      room: this.pair,
      role: 'publisher',
      joinMs: rel(this.openAt),
      peersExpected: 1,
      peersConnected: this.pairedAt === undefined ? 0 : 1,
      tracksExpected: 1,
      tracksReceived: this.received > 0 ? 1 : 0,
      links: [{ remote: partnerName, initiator: (this.index & 1) === 0, remotePublishes: true, connectMs: rel(this.pairedAt), firstPacketMs: rel(this.firstAt) }],
      video: { expected: 0, streams: [] },
      streams: this.pairedAt === undefined ? [] : [{
        from: partnerName,
        packets: this.received,
        expected,
        lost: Math.max(0, expected - this.received),
        lossPercent: expected > 0 ? (100 * Math.max(0, expected - this.received)) / expected : 0,
        bytes: this.receivedBytes,
        kbps: this.firstAt === undefined ? 0 : streamKbps(this.receivedBytes, this.firstAt, this.lastAt),
        jitterMs: this.jitterMs,
        latencyMeanMs: this.latencyCount > 0 ? this.latencySum / this.latencyCount : null,
      }],
      sent: { packets: this.sent, bytes: this.sentBytes, kbps: this.firstSendAt === undefined ? 0 : streamKbps(this.sentBytes, this.firstSendAt, this.lastSendAt) },
      rttMs: [],
      errors: { ...this.errors },
    };
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.ctx.broadcast.delete(this);
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.close(CLOSE_NORMAL, 'load test done');
    const cut = setTimeout(() => ws.terminate(), 2000);
    await closed;
    clearTimeout(cut);
  }

  private count(kind: string): void {
    if (!this.stopping) this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  private onControl(text: string): void {
    let msg: PcmServerMessage;
    try {
      msg = parsePcmServerMessage(text);
    } catch {
      this.count('INVALID_MESSAGE');
      return;
    }
    if (msg.type === 'connected') {
      this.paired = true;
      this.pairedAt ??= performance.now();
    } else if (msg.type === 'disconnected') {
      this.paired = false;
      this.count('partner-left');
    } else if (msg.type === 'error') {
      this.count(msg.code);
    }
  }

  private onFrame(data: Buffer): void {
    const now = performance.now();
    this.firstAt ??= now;
    this.lastAt = now;
    this.received++;
    this.receivedBytes += data.length;
    const partner = this.partner;
    const sentAt = partner?.takeSendTime();
    if (sentAt === undefined) return;
    const transit = now - sentAt;
    this.ctx.latency.add(transit);
    this.latencySum += transit;
    this.latencyCount++;
    if (this.lastTransit !== undefined) this.jitterMs = updateJitter(this.jitterMs, transit - this.lastTransit);
    this.lastTransit = transit;
  }

  /** The send time of the oldest frame the partner has not heard yet. */
  private takeSendTime(): number | undefined {
    if (this.head >= this.sendTimes.length) return undefined;
    const t = this.sendTimes[this.head++];
    if (this.head > 1024) { // compact now and then instead of shift() per frame
      this.sendTimes.splice(0, this.head);
      this.head = 0;
    }
    return t;
  }
}

/** `count` testers, partners linked two by two, under a pair-code prefix of their own. */
export function pcmTesters(context: Omit<PcmTesterContext, 'pairPrefix'>, count: number): PcmTester[] {
  const ctx = { ...context, pairPrefix: `loadtest-${randomBytes(3).toString('hex')}` };
  const out = Array.from({ length: count }, (_, i) => new PcmTester(ctx, i));
  for (let i = 0; i + 1 < count; i += 2) {
    out[i]!.partner = out[i + 1]!;
    out[i + 1]!.partner = out[i]!;
  }
  return out;
}
