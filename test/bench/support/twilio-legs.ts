/**
 * Twilio Media Streams callers for pcm-gateway.bench.ts, light enough that one process holds
 * hundreds. Each leg is a `ws` connection to /ws/twilio?room=… that opens as Twilio does
 * (`connected`, then `start` with a streamSid and µ-law 8 kHz mono) and then sends one 20 ms
 * `media` message (160 bytes of µ-law, base64) every 20 ms for as long as the call lasts, as
 * Twilio does: a speaker its tone, a listener its line's noise (about -60 dBFS: a real line is
 * never digital zero, so the gateway's voice gate has to measure it). The messages are
 * built by src/protocol/twilio.ts's builders, which write Twilio's fields in Twilio's order
 * (test/integration/twilio-caller.ts spells the same messages out by hand). Senders are
 * spread over the 20 ms period, one slot per ms, as independent calls would be.
 *
 * What comes back is time-stamped on arrival and not parsed (a prefix check tells `media`
 * from the rest); one listener keeps its audio, to check that the mix carries the speakers.
 * The lateness of a leg's k-th frame in a window is its arrival minus (base + 20 ms × k),
 * where base is the earliest such offset of that leg: 0 for the best-served frame, and a
 * skipped or late mix frame shows as 20 ms more for every frame after it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { ToneFrames } from '../../../src/media/frames.js';
import { mulawDecode, mulawEncode } from '../../../src/media/g711.js';
import { twilioConnected, twilioInboundMedia, twilioStart } from '../../../src/protocol/twilio.js';

const MEDIA_PREFIX = Buffer.from('{"event":"media"');
/** One second of a quiet phone line: 50 frames of µ-law white noise at about -60 dBFS (±57), cycled by listeners. */
export const LINE_NOISE: readonly Uint8Array[] = (() => {
  let x = 12345;
  return Array.from({ length: 50 }, () => mulawEncode(Int16Array.from({ length: 160 }, () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return (x % 115) - 57;
  })));
})();
const FRAME_MS = 20;

export interface LegsOptions {
  /** The server's base URL, http://host:port. */
  baseUrl: string;
  room: string;
  legs: number;
  /** One tone per speaker (Hz): the first legs speak, the rest listen (send silence). */
  speakersHz: number[];
}

export interface Percentiles { p50: number; p95: number; p99: number; max: number }

export interface WindowResult {
  legs: number;
  seconds: number;
  /** Mix frames the legs should have received in the window (50 a second each). */
  framesExpected: number;
  framesReceived: number;
  /** Lateness of each mix frame against its leg's 20 ms grid, ms, over every leg. */
  lateness: Percentiles;
  /** Media messages the legs sent in the window, and how many went out over a frame late. */
  sends: number;
  sendsExpected: number;
  sendsLate: number;
  /** This process's event-loop delay in the window, ms (its stalls add to the lateness it measures). */
  loopDelayP99Ms: number;
  /** This process's CPU in the window, % of one core. */
  cpuPercent: number;
  /** The recorded listener's audio in the window, 8 kHz. */
  heard: Int16Array;
  /** Messages other than `media` in the window (errors, say), the first few. */
  other: string[];
}

class Leg {
  ws!: WebSocket;
  readonly streamSid = `MZ${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}`;
  private seq = 1;
  private chunk = 1;
  private timestampMs = 0;
  arrivals = new Float64Array(1024);
  n = 0;
  heard: Buffer[] | undefined;

  constructor(readonly index: number, private readonly tone: ToneFrames | undefined) {}

  open(url: string, onOther: (text: string) => void, measuring: () => boolean): Promise<void> {
    // skipUTF8Validation: the server's text frames are ASCII JSON, and checking 10,000 a second costs the generator.
    this.ws = new WebSocket(url, { skipUTF8Validation: true, perMessageDeflate: false });
    this.ws.on('message', (data: Buffer) => {
      if (data.length < MEDIA_PREFIX.length || data.compare(MEDIA_PREFIX, 0, MEDIA_PREFIX.length, 0, MEDIA_PREFIX.length) !== 0) {
        onOther(data.toString());
        return;
      }
      if (!measuring()) return;
      if (this.n === this.arrivals.length) {
        const bigger = new Float64Array(this.arrivals.length * 2);
        bigger.set(this.arrivals);
        this.arrivals = bigger;
      }
      this.arrivals[this.n++] = performance.now();
      this.heard?.push(data);
    });
    this.ws.on('error', () => {});
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => {
        this.ws.send(twilioConnected());
        this.ws.send(twilioStart(this.seq++, {
          accountSid: 'AC00000000000000000000000000000000', streamSid: this.streamSid,
          callSid: `CA${this.streamSid.slice(2)}`, customParameters: { name: `leg ${this.index}` },
        }));
        resolve();
      });
      this.ws.once('error', reject);
    });
  }

  /** One 20 ms media message: the tone's next chunk, or the line's noise. */
  sendFrame(): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const payload = this.tone ? mulawEncode(this.tone.nextFrame()!) : LINE_NOISE[this.chunk % LINE_NOISE.length]!;
    this.ws.send(twilioInboundMedia(this.seq++, this.streamSid, this.chunk++, this.timestampMs, payload));
    this.timestampMs += FRAME_MS;
  }
}

function percentiles(sorted: Float64Array): Percentiles {
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  return { p50: at(50), p95: at(95), p99: at(99), max: sorted[sorted.length - 1] ?? NaN };
}

/** `legs` Twilio callers in one room, paced from one timer; open() dials them, close() hangs up. */
export class TwilioLegs {
  private readonly legs: Leg[] = [];
  /** Legs by send slot (ms within the 20 ms period), and frames each slot has sent. */
  private readonly slots: Leg[][] = Array.from({ length: FRAME_MS }, () => []);
  private readonly slotFrames = new Array<number>(FRAME_MS).fill(0);
  private readonly start = performance.now();
  private readonly timer: NodeJS.Timeout;
  private readonly loop = monitorEventLoopDelay({ resolution: 1 });
  private measuring = false;
  private windowStart = 0;
  private cpu0: NodeJS.CpuUsage = process.cpuUsage();
  private sends = 0;
  private sendsLate = 0;
  private other: string[] = [];

  private constructor() {
    this.loop.enable();
    // setInterval(1) fires about once per ms; each slot keeps its own schedule (start + slot + 20 k),
    // so late timers never drift the senders, and a sender behind by a frame is counted.
    this.timer = setInterval(() => this.pace(), 1);
  }

  /** Dials every leg (speakers first, so they are the first legs the room sees) and starts them talking. */
  static async open(options: LegsOptions): Promise<TwilioLegs> {
    const t = new TwilioLegs();
    const url = `${options.baseUrl.replace(/^http/, 'ws')}/ws/twilio?room=${encodeURIComponent(options.room)}`;
    const onOther = (text: string) => { if (t.measuring && t.other.length < 5) t.other.push(text.slice(0, 200)); };
    const measuring = () => t.measuring;
    for (let i = 0; i < options.legs; i++) {
      const hz = options.speakersHz[i];
      const leg = new Leg(i, hz === undefined ? undefined : new ToneFrames(hz, 8000));
      t.legs.push(leg);
    }
    const dial = async (leg: Leg) => {
      await leg.open(url, onOther, measuring);
      t.slots[leg.index % FRAME_MS]!.push(leg);
    };
    const speakers = t.legs.slice(0, options.speakersHz.length);
    for (const leg of speakers) await dial(leg);
    const rest = t.legs.slice(speakers.length);
    for (let i = 0; i < rest.length; i += 10) await Promise.all(rest.slice(i, i + 10).map(dial));
    // The last leg (a listener when there are more legs than speakers) keeps what it hears.
    t.legs.at(-1)!.heard = [];
    return t;
  }

  get size(): number {
    return this.legs.length;
  }

  /** Starts a measuring window: arrivals, sends, this process's CPU and loop delay from now. */
  startWindow(): void {
    for (const leg of this.legs) {
      leg.n = 0;
      if (leg.heard) leg.heard = [];
    }
    this.sends = 0;
    this.sendsLate = 0;
    this.other = [];
    this.loop.reset();
    this.cpu0 = process.cpuUsage();
    this.windowStart = performance.now();
    this.measuring = true;
  }

  endWindow(): WindowResult {
    this.measuring = false;
    const ms = performance.now() - this.windowStart;
    const cpu = process.cpuUsage(this.cpu0);
    const all: number[] = [];
    let received = 0;
    for (const leg of this.legs) {
      received += leg.n;
      let base = Infinity;
      for (let k = 0; k < leg.n; k++) base = Math.min(base, leg.arrivals[k]! - FRAME_MS * k);
      for (let k = 0; k < leg.n; k++) all.push(leg.arrivals[k]! - FRAME_MS * k - base);
    }
    const sorted = Float64Array.from(all).sort();
    const recorded = this.legs.at(-1)!.heard ?? [];
    const payloads = recorded.map((m) => Buffer.from((JSON.parse(m.toString()) as { media: { payload: string } }).media.payload, 'base64'));
    const frames = Math.floor(ms / FRAME_MS);
    return {
      legs: this.legs.length, seconds: ms / 1000,
      framesExpected: frames * this.legs.length, framesReceived: received,
      lateness: percentiles(sorted),
      sends: this.sends, sendsExpected: frames * this.legs.length, sendsLate: this.sendsLate,
      loopDelayP99Ms: this.loop.percentile(99) / 1e6,
      cpuPercent: ((cpu.user + cpu.system) / 10) / ms,
      heard: mulawDecode(Buffer.concat(payloads)),
      other: this.other,
    };
  }

  /** Hangs up every leg (the server sees the sockets close). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.loop.disable();
    for (const leg of this.legs) leg.ws?.terminate();
    await new Promise((r) => setTimeout(r, 200));
  }

  private pace(): void {
    const now = performance.now();
    for (let s = 0; s < FRAME_MS; s++) {
      const slot = this.slots[s]!;
      for (;;) {
        const due = this.start + s + FRAME_MS * this.slotFrames[s]!;
        if (due > now) break;
        this.slotFrames[s]!++;
        for (const leg of slot) leg.sendFrame();
        if (this.measuring) {
          this.sends += slot.length;
          if (now - due > FRAME_MS) this.sendsLate += slot.length;
        }
      }
    }
  }
}
