/**
 * The PCM gateway with phone callers (issue 14, "Performance (bench)"): what a Twilio Media
 * Streams leg (µ-law 8 kHz) costs the server, how many legs one core holds in real time, and
 * the mouth-to-ear latency the gateway adds.
 *
 * - Capacity: N Twilio legs (support/twilio-legs.ts) in one SFU room; the first 4 speak a tone
 *   (400/500/600/700 Hz), the others listen and send silence, as Twilio streams a call all
 *   along. N steps up 25, 50, 100, 150, 200, 300, 400, 500. The server runs in a child
 *   process pinned to one core (support/server-child.ts 'gateway'), the legs in this process on
 *   the other. Each step holds HOLD_S seconds after the legs settle and gives: server CPU, in %
 *   of its core and per leg per second of audio; the mix tick (every 20 ms: encode what each
 *   leg said, decode each publication, mix, hand each leg its mix down to the socket write;
 *   timed in the child around SfuGateway's own tick) per leg; how late each mix frame reaches
 *   its leg against a 20 ms grid (p50/p95/p99; support/twilio-legs.ts says how). Held in real
 *   time: the largest N whose p95 lateness is within one frame (20 ms), whose legs got at least
 *   99 % of their mix frames, with the server under CPU_STOP % of its core. Legs per core:
 *   N × 100 / CPU % at that step (target ≥ 150).
 * - Baseline, same run, same core, same legs, before each step: a bare `ws` server that moves
 *   the same Twilio messages and nothing else (support/bare-twilio.ts: parse each message and
 *   its base64, send each leg one 160-byte `media` every 20 ms). callpeer's CPU over the bare
 *   server's is the ratio; their difference per leg is what the gateway's audio work costs
 *   (µ-law, resampling, Opus, mixing, queues) above moving the bytes any Twilio server pays.
 *   The idle server's CPU is printed first, for scale.
 * - Where a leg's 20 ms goes (support/leg-cost.ts): the shipped code of each stage timed in
 *   this process without sockets, stage against stage.
 * - Mouth-to-ear (support/mouth-to-ear.ts): a node-datachannel member and a Twilio caller in
 *   one room, 100 ms tone bursts every 500 ms each way, burst sent to its first loud sample
 *   heard, p50/p95 (target p95 ≤ 80 ms on loopback): on an idle server, then with LOADED_LEGS
 *   legs in another room of the same server.
 *
 * A step whose load generator fell behind (under 99 % of its sends made, over 1 % a frame late,
 * or its own event loop over 10 ms late at p99, which would count as the server's lateness)
 * says INVALID. So does one where other work on the shared machine took over MAX_OTHERS_PCT %
 * of the server's or the legs' core (/proc/stat: the core's wall time less its idle time, less
 * the CPU of the process pinned there); that one is tried again, up to ATTEMPTS times, each spoiled try printed.
 *
 *   unshare -n sh -c 'ip link set lo up && exec npm run bench -- gateway'
 *   GATEWAY_BENCH_STEPS=25,100 (legs per step), GATEWAY_BENCH_HOLD_S=8, GATEWAY_BENCH_LATENCY_S=20;
 *   BENCH_CPU_PROF=DIR writes a V8 CPU profile of each server child there.
 */
import { toneShare } from '../../src/media/analysis.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { CPU_STOP } from './support/capacity.js';
import { BenchServer, fmt } from './support/child.js';
import { measureLegCost, type StageCost } from './support/leg-cost.js';
import { measureMouthToEar } from './support/mouth-to-ear.js';
import { coreIdleMs, otherCore, pinProcess, pinToIdlestCore, processCpuMs, runQueueWaitMs } from './support/pin.js';
import type { LoopStats } from './support/server-child.js';
import { TwilioLegs, type WindowResult } from './support/twilio-legs.js';

const STEPS = (process.env.GATEWAY_BENCH_STEPS ?? '25,50,100,150,200,300,400,500').split(',').map(Number);
const HOLD_S = Number(process.env.GATEWAY_BENCH_HOLD_S ?? 8);
const LATENCY_S = Number(process.env.GATEWAY_BENCH_LATENCY_S ?? 20);
const SPEAKERS_HZ = [400, 500, 600, 700];
/** After the last leg dialed: every play queue past its cushion, every feed decoding. */
const SETTLE_MS = 2000;
const TARGET_LEGS = 150;
const TARGET_P95_MS = 80;
const LATE_MS = 20;
/** The latency run's background load: within what one core holds (150 legs fill it). */
const LOADED_LEGS = 100;
/** A window where other work on the machine took more than this share of the server's or the legs' core, %, does not count. */
const MAX_OTHERS_PCT = 5;
/** Attempts at a step (or a latency run) that the machine spoiled, before its figures are printed as INVALID. */
const ATTEMPTS = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

interface Step {
  kind: 'bare' | 'callpeer';
  legs: number;
  /** Server CPU in the window, % of one core. */
  cpu: number;
  /** Share of the window the server's event loop was busy, %. */
  elu: number;
  loop: LoopStats['loopDelayMs'];
  tick: LoopStats['tickUs'];
  w: WindowResult;
  /** Share of the server's and the legs' cores that other work on the machine took in the window, %. */
  others: Others;
  /** Why the figures do not count, if they do not: the load generator or the machine. */
  invalid: string | undefined;
  /** Share of each speaker's tone in one listener's mix (callpeer only). */
  shares: number[] | undefined;
}

const { core: legsCore, note } = await pinToIdlestCore();
const serverCore = legsCore === undefined ? undefined : otherCore(legsCore);
console.log(`legs ${note}; server${serverCore === undefined ? '' : ` (callpeer and the bare one) pinned to core ${serverCore}`}`);

async function startServer(kind: 'gateway' | 'bare-twilio'): Promise<{ server: BenchServer; baseUrl: string }> {
  const server = await BenchServer.start(kind);
  if (serverCore !== undefined) pinProcess(server.child.pid!, serverCore);
  return { server, baseUrl: server.url.replace(/^ws/, 'http').replace(/\/ws$/, '') };
}

function cpuOver(a: LoopStats, b: LoopStats, ms: number): { cpu: number; elu: number } {
  const cpu = (b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 10 / ms;
  const active = b.elu.active - a.elu.active;
  const elu = (100 * active) / (active + b.elu.idle - a.elu.idle);
  return { cpu, elu };
}

interface Others { server: number; legs: number }

/**
 * What other work on the machine took from the server and the legs over a window, % of it.
 * Pinned: each core's busy time (wall time less its idle time) less the CPU of the process
 * pinned there. Unpinned: how long each main thread waited for a core (which also counts a
 * process's own helper threads).
 */
class Contention {
  private readonly a: number[];

  constructor(private readonly pid: number) {
    this.a = this.sample();
  }

  end(): Others {
    const b = this.sample();
    const ms = b[0]! - this.a[0]!;
    const d = b.map((v, i) => (100 * (v - this.a[i]!)) / ms);
    return serverCore === undefined || legsCore === undefined
      ? { server: d[1]!, legs: d[2]! }
      : { server: 100 - d[1]! - d[2]!, legs: 100 - d[3]! - d[4]! };
  }

  /** [now, then the server's core idle and CPU, the legs' core idle and CPU] (unpinned: the two waits). */
  private sample(): number[] {
    const now = performance.now();
    if (serverCore === undefined || legsCore === undefined) return [now, runQueueWaitMs(this.pid), runQueueWaitMs()];
    return [now, coreIdleMs(serverCore), processCpuMs(this.pid), coreIdleMs(legsCore), processCpuMs()];
  }
}

/** Why a window's figures are the machine's rather than the server's, if they are. */
function machineFault(others: Others): string | undefined {
  if (others.server > MAX_OTHERS_PCT) return `other work took ${others.server.toFixed(1)} % of the server's core`;
  if (others.legs > MAX_OTHERS_PCT) return `other work took ${others.legs.toFixed(1)} % of the legs' core`;
  return undefined;
}

/** Why a window's figures are the generator's rather than the server's, if they are. */
function generatorFault(w: WindowResult): string | undefined {
  if (w.sends < 0.99 * w.sendsExpected) return `the legs sent ${fmt(w.sends, 0)} of ${fmt(w.sendsExpected, 0)} media messages`;
  if (w.sendsLate > 0.01 * w.sends) return `${fmt((100 * w.sendsLate) / w.sends, 1)} % of the legs' sends went out over a frame late`;
  if (w.loopDelayP99Ms > 10) return `the legs' own event loop was ${w.loopDelayP99Ms.toFixed(1)} ms late at p99`;
  return undefined;
}

async function runStepOnce(kind: 'bare' | 'callpeer', legs: number): Promise<Step> {
  const { server, baseUrl } = await startServer(kind === 'bare' ? 'bare-twilio' : 'gateway');
  const pid = server.child.pid!;
  const t = await TwilioLegs.open({ baseUrl, room: `gw-${legs}`, legs, speakersHz: SPEAKERS_HZ });
  await sleep(SETTLE_MS);
  const s0 = await server.loopStats();
  const contention = new Contention(pid);
  const t0 = performance.now();
  t.startWindow();
  await sleep(HOLD_S * 1000);
  const w = t.endWindow();
  const ms = performance.now() - t0;
  const others = contention.end();
  const s1 = await server.loopStats();
  const { cpu, elu } = cpuOver(s0, s1, ms);
  await t.close();
  server.stop();
  const shares = kind === 'callpeer' && w.heard.length > 0 ? SPEAKERS_HZ.map((hz) => toneShare(w.heard, 8000, hz)) : undefined;
  let invalid = machineFault(others) ?? generatorFault(w);
  if (!invalid && shares && shares.some((s) => s < 0.1)) invalid = `the listener's mix lacks a speaker (tone shares ${shares.map((s) => s.toFixed(2)).join('/')})`;
  return { kind, legs, cpu, elu, loop: s1.loopDelayMs, tick: s1.tickUs, w, others, invalid, shares };
}

/** A step, tried again (at most ATTEMPTS times) while the machine spoils it; each spoiled try is printed. */
async function runStep(kind: 'bare' | 'callpeer', legs: number): Promise<Step> {
  for (let attempt = 1; ; attempt++) {
    const s = await runStepOnce(kind, legs);
    if (!s.invalid || !machineFault(s.others) || attempt === ATTEMPTS) return s;
    console.log(`${line(s)}  (try ${attempt} of ${ATTEMPTS}: again)`);
    await sleep(2000);
  }
}

const usPerLegSecond = (s: Step) => (s.cpu * 1e4) / s.legs;
/** A mix that skipped ticks delivers fewer frames; the lateness of those delivered can still look small. */
const framesShort = (s: Step) => s.w.framesReceived < 0.99 * s.w.framesExpected;
function line(s: Step): string {
  const l = s.w.lateness;
  const tick = s.tick ? `  tick p50/p95 ${fmt(s.tick.p50 / 1000, 2)}/${fmt(s.tick.p95 / 1000, 2)} ms (${fmt(s.tick.mean / s.legs, 1)} µs a leg)` : '';
  return `${String(s.legs).padStart(4)} legs  ${s.kind.padEnd(8)}  server CPU ${s.cpu.toFixed(1).padStart(5)} % (${fmt(usPerLegSecond(s) / 1000, 3)} ms per leg per s of audio)  `
    + `loop busy ${s.elu.toFixed(0)} %, delay p99 ${s.loop.p99.toFixed(1)} ms${tick}  `
    + `lateness p50/p95/p99/max ${l.p50.toFixed(1)}/${l.p95.toFixed(1)}/${l.p99.toFixed(1)}/${l.max.toFixed(1)} ms  `
    + `frames ${fmt(s.w.framesReceived, 0)}/${fmt(s.w.framesExpected, 0)}  legs' CPU ${s.w.cpuPercent.toFixed(0)} %, loop p99 ${s.w.loopDelayP99Ms.toFixed(1)} ms  `
    + `other work on the cores: server's ${s.others.server.toFixed(1)} %, legs' ${s.others.legs.toFixed(1)} %`
    + (s.shares ? `  mix holds ${SPEAKERS_HZ.join('/')} Hz at ${s.shares.map((x) => x.toFixed(2)).join('/')}` : '')
    + (s.w.other.length ? `  other messages: ${s.w.other.join(' | ')}` : '')
    + (s.invalid ? `  -- INVALID: ${s.invalid}` : '');
}

// ---- the idle server: what a gateway server costs with nobody on it ----
{
  const { server } = await startServer('gateway');
  await sleep(1000);
  const a = await server.loopStats();
  const t0 = performance.now();
  await sleep(3000);
  const { cpu } = cpuOver(a, await server.loopStats(), performance.now() - t0);
  server.stop();
  console.log(`idle server: CPU ${cpu.toFixed(2)} % of its core`);
}

// ---- capacity: bare then callpeer at each step, until callpeer falls behind or saturates its core ----
console.log(`\ncapacity: Twilio legs (µ-law 8 kHz) in one SFU room, ${SPEAKERS_HZ.length} speaking, the rest sending silence; ${HOLD_S} s measured per step after ${SETTLE_MS / 1000} s settling`);
const results: { bare: Step; callpeer: Step }[] = [];
for (const legs of STEPS) {
  const bare = await runStep('bare', legs);
  console.log(line(bare));
  const callpeer = await runStep('callpeer', legs);
  console.log(line(callpeer));
  const ratio = callpeer.cpu / bare.cpu;
  const own = (usPerLegSecond(callpeer) - usPerLegSecond(bare)) / 1000;
  console.log(`           callpeer / bare: CPU x${ratio.toFixed(2)}; the gateway's audio work above moving the messages: ${fmt(own, 3)} ms per leg per s of audio`);
  results.push({ bare, callpeer });
  if (machineFault(callpeer.others)) { console.log('           (spoiled by the machine: not counted; going on)'); continue; }
  if (generatorFault(callpeer.w)) { console.log('stop: the load generator fell behind'); break; }
  if (callpeer.w.lateness.p95 > LATE_MS) { console.log(`stop: p95 lateness over ${LATE_MS} ms`); break; }
  if (framesShort(callpeer)) { console.log('stop: the legs got under 99 % of their mix frames (the mix skipped ticks)'); break; }
  if (callpeer.cpu >= CPU_STOP) { console.log(`stop: server CPU >= ${CPU_STOP} % of its core`); break; }
}

// ---- mouth-to-ear, idle and loaded ----
interface Latency { m2p: number[]; p2m: number[]; p95: number; verdict: string }
async function latency(loadLegs: number): Promise<Latency> {
  for (let attempt = 1; ; attempt++) {
    const { server, baseUrl } = await startServer('gateway');
    const pid = server.child.pid!;
    const load = loadLegs > 0 ? await TwilioLegs.open({ baseUrl, room: 'load', legs: loadLegs, speakersHz: SPEAKERS_HZ }) : undefined;
    if (load) await sleep(SETTLE_MS);
    const s0 = await server.loopStats();
    const contention = new Contention(pid);
    const t0 = performance.now();
    const r = await measureMouthToEar(baseUrl, server.url, 'm2e', LATENCY_S);
    const ms = performance.now() - t0;
    const others = contention.end();
    const { cpu } = cpuOver(s0, await server.loopStats(), ms);
    await load?.close();
    server.stop();
    const f = (xs: number[], sent: number) => `p50 ${percentile(xs, 50).toFixed(1)} ms, p95 ${percentile(xs, 95).toFixed(1)} ms (${xs.length}/${sent} bursts heard)`;
    const p95 = Math.max(percentile(r.memberToPhone, 95), percentile(r.phoneToMember, 95));
    const all = r.memberToPhone.length >= 0.9 * r.sent.member && r.phoneToMember.length >= 0.9 * r.sent.phone;
    const machine = machineFault(others);
    const verdict = machine ? `INVALID: ${machine}` : !all ? 'bursts missing: MISSED' : p95 <= TARGET_P95_MS ? 'met' : 'MISSED';
    console.log(`mouth-to-ear, ${loadLegs ? `${loadLegs} legs in another room` : 'idle server'} (server CPU ${cpu.toFixed(0)} %; other work on the cores: server's ${others.server.toFixed(1)} %, legs' ${others.legs.toFixed(1)} %): `
      + `member -> phone ${f(r.memberToPhone, r.sent.member)}; phone -> member ${f(r.phoneToMember, r.sent.phone)}; `
      + `target p95 <= ${TARGET_P95_MS} ms: ${verdict}${machine && attempt < ATTEMPTS ? ` (try ${attempt} of ${ATTEMPTS}: again)` : ''}`);
    if (!machine || attempt === ATTEMPTS) return { m2p: r.memberToPhone, p2m: r.phoneToMember, p95, verdict };
    await sleep(2000);
  }
}
console.log(`\nmouth-to-ear: a node-datachannel member and a Twilio caller, 100 ms bursts every 500 ms each way, ${LATENCY_S} s`);
const idle = await latency(0);
const loaded = await latency(LOADED_LEGS);

// ---- where a leg's 20 ms goes, in process (no sockets): stage against stage ----
const cost = measureLegCost();
const total = (c: StageCost) => c.in + c.say + c.mix + c.out;
const stages = (c: StageCost) => `in ${c.in.toFixed(1)}, say ${c.say.toFixed(1)}, mix ${c.mix.toFixed(1)}, out ${c.out.toFixed(1)}; total ${total(c).toFixed(1)} µs`;
console.log(`\none leg's 20 ms frame in process, no sockets (µs; support/leg-cost.ts says what each stage holds):`);
console.log(`  listener (line noise in, the shared mix out): ${stages(cost.listener)} = ${fmt((total(cost.listener) * 50) / 1000, 3)} ms per s of audio `
  + `-> at most ${fmt(1e6 / (total(cost.listener) * 50), 0)} listeners per core before any socket work`);
console.log(`  talker (a tone in, its own mix out): ${stages(cost.talker)} = ${fmt((total(cost.talker) * 50) / 1000, 3)} ms per s of audio`);

// ---- summary ----
// Held: the last valid step before the first valid one that fell behind or filled the core.
let held: Step | undefined;
for (const s of results.map((r) => r.callpeer).filter((x) => !x.invalid)) {
  if (s.w.lateness.p95 > LATE_MS || framesShort(s) || s.cpu >= CPU_STOP) break;
  held = s;
}
console.log('\nsummary');
if (held) {
  const perCore = (held.legs * 100) / held.cpu;
  const tickPerLeg = held.tick ? (held.tick.mean / held.legs) * 50 / 1000 : NaN;
  const next = results.map((r) => r.callpeer).find((s) => s.legs > held!.legs && !s.invalid);
  console.log(`held in real time on one core: ${held.legs} legs (the largest step with p95 lateness <= ${LATE_MS} ms, >= 99 % of mix frames and server CPU < ${CPU_STOP} %: `
    + `p95 ${held.w.lateness.p95.toFixed(1)} ms, CPU ${held.cpu.toFixed(0)} %)`
    + (next ? `; at ${next.legs}: CPU ${next.cpu.toFixed(0)} %, p95 lateness ${next.w.lateness.p95.toFixed(1)} ms, frames ${fmt((100 * next.w.framesReceived) / next.w.framesExpected, 1)} %` : '')
    + ` (target >= ${TARGET_LEGS}: ${held.legs >= TARGET_LEGS ? 'met' : 'MISSED'})`);
  console.log(`server CPU per leg: ${fmt(usPerLegSecond(held) / 1000, 3)} ms per second of audio at ${held.legs} legs, of which the mix tick ${fmt(tickPerLeg, 3)} ms `
    + `-> ${fmt(perCore, 0)} legs per fully used core, extrapolated (a core cannot be fully used with the mix on schedule)`);
} else {
  console.log('no valid step held real time');
}
const m2e = (what: string, l: Latency) => `${what}: member -> phone p50/p95 ${percentile(l.m2p, 50).toFixed(1)}/${percentile(l.m2p, 95).toFixed(1)} ms, `
  + `phone -> member ${percentile(l.p2m, 50).toFixed(1)}/${percentile(l.p2m, 95).toFixed(1)} ms (target p95 <= ${TARGET_P95_MS} ms: ${l.verdict})`;
console.log(m2e('mouth-to-ear, idle server', idle));
console.log(m2e(`mouth-to-ear, ${LOADED_LEGS} legs on the server`, loaded));
cleanupRtc();
await sleep(process.env.BENCH_CPU_PROF ? 3000 : 0); // servers write their profiles
process.exit(0);
