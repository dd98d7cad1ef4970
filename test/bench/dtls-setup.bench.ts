/**
 * First-DTLS-handshake refusals ("certificate verify failed") between two Peers in one process:
 * N setups (default 1,000) in concurrent batches (default 50), each an offerer Peer adding a
 * send-only audio track and an answerer Peer, wired to each other directly like the tests do
 * (test/helpers/rtc.ts), or with each signal delayed by `--delay=MS` (a signaling server).
 * A setup is refused when either Peer closes as 'failed' before both are connected. The
 * library's own log (Debug) is captured: its refusal lines are counted, and the lines around
 * the first refusals are printed with both fingerprints (each side's local one from its SDP,
 * the one it received in the remote SDP, and what its verifier saw: pc.remoteFingerprint()).
 * Run inside a loopback-only namespace:
 *   unshare -n sh -c 'ip link set lo up && exec node --import tsx test/bench/dtls-setup.bench.ts [N] [BATCH] [--delay=MS] [--offerer-client|--offerer-server] [--verbose] [--log=FILE]'
 * It also reports setup times (offer to both connected) and setups over 500 ms: a first DTLS
 * flight that waits for OpenSSL's 1 s retransmit.
 * Target: refusals < 0.1 % of setups.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { cleanup, initLogger, type PeerConnection } from 'node-datachannel';
import { cleanupRtc, Peer, type PeerSignal } from '../../src/rtc/peer.js';

const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith('--'));
const N = Number(positional[0] ?? 1000);
const BATCH = Number(positional[1] ?? 50);
const DELAY = Number(args.find((a) => a.startsWith('--delay='))?.slice(8) ?? -1);
const VERBOSE = args.includes('--verbose');
// DTLS roles: the Peer default unless --offerer-client or --offerer-server.
const ROLE = args.includes('--offerer-client') ? { offererIsDtlsClient: true } : args.includes('--offerer-server') ? { offererIsDtlsClient: false } : {};
const LOG_FILE = args.find((a) => a.startsWith('--log='))?.slice(6); // every library line, and our marks
if (LOG_FILE) writeFileSync(LOG_FILE, '');
const mark = (text: string): void => { if (LOG_FILE) appendFileSync(LOG_FILE, `${performance.now().toFixed(1)} ##### ${text}\n`); };
const SHOW = 3; // refusals shown in detail
const CFG = { iceServers: [], bindAddress: '127.0.0.1' };

// --- the library's log: a ring of recent lines, and counters of refusal lines ---
const ring: string[] = [];
const counts = new Map<string, number>();
const PATTERNS: [string, RegExp][] = [
  ['certificate verify failed', /certificate verify failed/],
  ['Invalid fingerprint (mismatch logged)', /Invalid fingerprint/],
  ['DTLS handshake failed', /DTLS handshake failed/],
  ['DTLS alert', /DTLS alert/],
];
initLogger(VERBOSE ? 'Verbose' : 'Debug', (level, message) => {
  const line = `${performance.now().toFixed(1)} ${level} ${message}`;
  ring.push(line);
  if (LOG_FILE) appendFileSync(LOG_FILE, `${line}\n`);
  if (ring.length > 400) ring.splice(0, ring.length - 300);
  for (const [name, re] of PATTERNS) if (re.test(message)) counts.set(name, (counts.get(name) ?? 0) + 1);
});

const fingerprintOf = (sdp: string | undefined): string | undefined => sdp?.match(/a=fingerprint:\S+ (\S+)/)?.[1];
const nativeOf = (p: Peer): PeerConnection => (p as unknown as { pc: PeerConnection }).pc;

interface Outcome { result: 'ok' | 'refused' | 'timeout' | 'other'; detail?: string; sawExpected?: boolean; ms?: number }

function setup(i: number): Promise<Outcome> {
  const a = new Peer({ ...CFG, id: `a${i}`, polite: false, ...ROLE });
  const b = new Peer({ ...CFG, id: `b${i}`, polite: true, ...ROLE });
  const seen = { aRemoteSdp: '', bRemoteSdp: '', aLocalSdp: '', bLocalSdp: '', answerAppliedAt: 0 };
  const deliver = (to: Peer, s: PeerSignal): void => {
    if (to.closed) return;
    if (s.kind === 'description') {
      if (to === a) { seen.aRemoteSdp = s.sdp; seen.bLocalSdp = s.sdp; } else { seen.bRemoteSdp = s.sdp; seen.aLocalSdp = s.sdp; }
      to.handleRemoteDescription(s.sdp, s.type);
      if (to === a) seen.answerAppliedAt = performance.now();
      mark(`pair ${i}: ${to === a ? 'offerer applied the answer' : 'answerer applied the offer'}`);
    } else to.addRemoteCandidate(s.candidate, s.mid);
  };
  const send = (to: Peer, s: PeerSignal): void => {
    if (DELAY < 0) deliver(to, s);
    else setTimeout(() => { try { deliver(to, s); } catch { /* closed meanwhile */ } }, DELAY);
  };
  a.on('signal', (s) => send(b, s));
  b.on('signal', (s) => send(a, s));
  return new Promise<Outcome>((resolve) => {
    let connected = 0;
    let done = false;
    const finish = (o: Outcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // Let the other side's state callbacks drain, then close both.
      setTimeout(() => { a.close(); b.close(); resolve(o); }, 20);
    };
    const timer = setTimeout(() => finish({ result: 'timeout' }), 15_000);
    for (const p of [a, b]) {
      p.on('connected', () => { mark(`pair ${i}: ${p === a ? 'offerer' : 'answerer'} connected`); });
      p.on('connected', () => { if (++connected === 2) finish({ result: 'ok', ms: performance.now() - t0 }); });
      p.on('closed', (reason) => {
        if (done) return;
        const who = p === a ? 'offerer' : 'answerer';
        let detail = `${who} closed: ${reason}`;
        if (reason === 'failed') {
          const fp = (x: Peer): string => { try { return JSON.stringify(nativeOf(x).remoteFingerprint()); } catch (e) { return `(${String(e)})`; } };
          detail += `\n  offerer  local fp (its offer SDP):      ${fingerprintOf(seen.aLocalSdp)}` +
            `\n  answerer local fp (its answer SDP):     ${fingerprintOf(seen.bLocalSdp)}` +
            `\n  offerer  expects (answer it was given): ${fingerprintOf(seen.aRemoteSdp)}` +
            `\n  answerer expects (offer it was given):  ${fingerprintOf(seen.bRemoteSdp)}` +
            `\n  offerer  verifier saw (remoteFingerprint): ${fp(a)}` +
            `\n  answerer verifier saw (remoteFingerprint): ${fp(b)}` +
            `\n  offerer had applied the answer: ${seen.answerAppliedAt ? `yes, ${(performance.now() - seen.answerAppliedAt).toFixed(1)} ms before the failure reached JS` : 'NO'}`;
        }
        mark(`pair ${i}: ${detail}`);
        if (reason === 'failed') detail += `\n  library log lines just before:\n${ring.slice(-40).map((l) => `    | ${l}`).join('\n')}`;
        // The offerer (DTLS client) verifies first: did its verifier get the very certificate the answer announced?
        let sawExpected: boolean | undefined;
        try { sawExpected = nativeOf(a).remoteFingerprint().value === fingerprintOf(seen.aRemoteSdp); } catch { /* no value */ }
        finish({ result: reason === 'failed' ? 'refused' : 'other', detail, sawExpected });
      });
    }
    const t0 = performance.now();
    a.addAudioTrack({ direction: 'sendonly' });
  });
}

const results = { ok: 0, refused: 0, timeout: 0, other: 0 };
let refusedWithRightCert = 0;
const times: number[] = [];
let shown = 0;
const t0 = performance.now();
for (let start = 0; start < N; start += BATCH) {
  const n = Math.min(BATCH, N - start);
  const outcomes = await Promise.all(Array.from({ length: n }, (_, k) => setup(start + k)));
  for (const o of outcomes) {
    results[o.result]++;
    if (o.result === 'refused' && o.sawExpected) refusedWithRightCert++;
    if (o.ms !== undefined) times.push(o.ms);
    if (o.result !== 'ok' && shown < SHOW) {
      shown++;
      console.log(`--- setup not ok: ${o.detail ?? o.result}`);
    }
  }
  await new Promise((r) => setTimeout(r, 50));
}
const secs = (performance.now() - t0) / 1000;
console.log(`DTLS first-handshake refusals: ${N} setups in batches of ${BATCH}${DELAY >= 0 ? `, signals delayed ${DELAY} ms` : ', direct signaling'}, offerer is the DTLS ${ROLE.offererIsDtlsClient ? 'client' : 'server'}${ROLE.offererIsDtlsClient === undefined ? ' (Peer default)' : ''}, ${secs.toFixed(1)} s`);
console.log(`  ok ${results.ok}, refused ${results.refused}, timeout ${results.timeout}, other ${results.other}; refusal rate ${((100 * results.refused) / N).toFixed(2)} % (target < 0.1 %)`);
times.sort((x, y) => x - y);
const q = (p: number): string => (times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? NaN).toFixed(0);
console.log(`  setup (offer to both connected) p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${q(1)} ms, over 500 ms: ${times.filter((t) => t > 500).length}`);
if (results.refused) console.log(`  refusals where the offerer's verifier was handed exactly the certificate its remote SDP announced: ${refusedWithRightCert} of ${results.refused}`);
console.log(`  library log lines: ${PATTERNS.map(([name]) => `${name}: ${counts.get(name) ?? 0}`).join(', ')}`);
cleanupRtc();
cleanup();
