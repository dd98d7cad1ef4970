/**
 * Setup time from "offer" (the offerer adds its audio track) to the first RTP packet received
 * by the answerer, one setup at a time on loopback, p50/p95/max over N setups, for:
 *   - bare node-datachannel (library defaults: the answerer is the DTLS client),
 *   - Peer with offererIsDtlsClient: true (its offer says a=setup:active),
 *   - Peer by default: its offer says a=setup:passive, it is the DTLS server and signals its
 *     candidates once the answer is applied (target p50 <= 50 ms, p95 <= 150 ms).
 * "stalls" counts setups over 500 ms: the lost first DTLS flight waiting on OpenSSL's 1 s
 * retransmit timer. Run inside a loopback-only namespace:
 *   unshare -n sh -c 'ip link set lo up && exec node --import tsx test/bench/rtc-setup.bench.ts [N]'
 */
import { Audio, cleanup, PeerConnection, type Track } from 'node-datachannel';
import { cleanupRtc, Peer } from '../../src/rtc/peer.js';
import type { MediaTrack } from '../../src/rtc/media-track.js';

const N = Number(process.argv[2] ?? 100);
const COMPARE_N = Math.max(20, Math.round(N / 2));
const CFG = { iceServers: [], bindAddress: '127.0.0.1' };

function rtp(ssrc: number, seq: number): Buffer {
  const b = Buffer.alloc(32);
  b[0] = 0x80; b[1] = 111; b.writeUInt16BE(seq, 2); b.writeUInt32BE(ssrc, 8);
  return b;
}

/** Sends a packet every 2 ms from `start()` until stopped: the first one that arrives ends the setup. */
function prober(send: (seq: number) => void): { stop(): void } {
  let seq = 0;
  const timer = setInterval(() => send(seq++), 2);
  return { stop: () => clearInterval(timer) };
}

async function bareSetup(): Promise<number> {
  const a = new PeerConnection('a', CFG);
  const b = new PeerConnection('b', CFG);
  const keep: Track[] = [];
  const t0 = performance.now();
  return new Promise<number>((resolve, reject) => {
    const timeout = setTimeout(() => reject(new Error('bare setup timed out')), 10_000);
    let probe: { stop(): void } | undefined;
    const finish = (): void => {
      probe?.stop();
      clearTimeout(timeout);
      const t = performance.now() - t0;
      // Tracks closed from JS too: only that releases their callbacks (else the loop stays alive).
      setImmediate(() => { for (const k of keep) k.close(); a.close(); b.close(); resolve(t); });
    };
    a.onLocalDescription((sdp, type) => {
      try {
        const m = new Audio('0', 'RecvOnly');
        m.addOpusCodec(111);
        const tb = b.addTrack(m);
        keep.push(tb);
        tb.onClosed(() => {});
        let done = false;
        tb.onMessage(() => { if (!done) { done = true; finish(); } });
        b.setRemoteDescription(sdp, type);
      } catch (err) { reject(err); }
    });
    b.onLocalDescription((sdp, type) => { try { a.setRemoteDescription(sdp, type); } catch (err) { reject(err); } });
    a.onLocalCandidate((c, mid) => { try { b.addRemoteCandidate(c, mid); } catch { /* before description: the library retries via peer-reflexive */ } });
    b.onLocalCandidate((c, mid) => { try { a.addRemoteCandidate(c, mid); } catch { /* idem */ } });
    a.onStateChange(() => {});
    b.onStateChange(() => {});
    const au = new Audio('0', 'SendOnly');
    au.addOpusCodec(111);
    au.addSSRC(1234, 'bench');
    const ta = a.addTrack(au);
    keep.push(ta);
    ta.onClosed(() => {});
    // Probed from the start, like the Peer below (whose tracks have no open event): sends fail until DTLS is up.
    probe = prober((seq) => { try { ta.sendMessageBinary(rtp(1234, seq)); } catch { /* not open yet, or closing */ } });
    a.setLocalDescription();
  });
}

async function peerSetup(offererIsDtlsClient: boolean): Promise<number> {
  const a = new Peer({ ...CFG, polite: false, offererIsDtlsClient });
  const b = new Peer({ ...CFG, polite: true, offererIsDtlsClient });
  a.on('signal', (s) => { if (s.kind === 'description') b.handleRemoteDescription(s.sdp, s.type); else b.addRemoteCandidate(s.candidate, s.mid); });
  b.on('signal', (s) => { if (s.kind === 'description') a.handleRemoteDescription(s.sdp, s.type); else a.addRemoteCandidate(s.candidate, s.mid); });
  const t0 = performance.now();
  return new Promise<number>((resolve, reject) => {
    const timeout = setTimeout(() => reject(new Error('peer setup timed out')), 10_000);
    let probe: { stop(): void } | undefined;
    b.on('track', (t: MediaTrack) => {
      t.onRtp = () => {
        t.onRtp = undefined;
        probe?.stop();
        clearTimeout(timeout);
        const ms = performance.now() - t0;
        setImmediate(() => { a.close(); b.close(); resolve(ms); });
      };
    });
    const out = a.addAudioTrack({ direction: 'sendonly' });
    // A track has no open event: the prober's first sends fail until DTLS is up.
    probe = prober((seq) => out.send(rtp(out.localSsrc, seq)));
  });
}

function summary(name: string, times: number[], baseline?: number[]): string {
  const s = [...times].sort((x, y) => x - y);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const stalls = s.filter((t) => t > 500).length;
  const ratio = baseline ? `  p50 ratio to bare ${(q(0.5) / [...baseline].sort((x, y) => x - y)[Math.floor(baseline.length / 2)]!).toFixed(2)}x` : '';
  return `${name.padEnd(44)} n=${String(s.length).padStart(3)}  p50 ${q(0.5).toFixed(1).padStart(6)} ms  p95 ${q(0.95).toFixed(1).padStart(7)} ms  max ${s.at(-1)!.toFixed(1).padStart(7)} ms  stalls>500ms ${stalls} (${((100 * stalls) / s.length).toFixed(0)} %)${ratio}`;
}

async function run(n: number, setup: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await setup());
    await new Promise((r) => setTimeout(r, 5));
  }
  return out;
}

await run(3, () => peerSetup(false)); // warm-up: thread pool, certificate code paths
const bare = await run(COMPARE_N, bareSetup);
const peerOffererClient = await run(COMPARE_N, () => peerSetup(true));
const peer = await run(N, () => peerSetup(false));
console.log('Setup: offer -> first RTP packet at the answerer, sequential, loopback');
console.log(summary('bare node-datachannel (answerer DTLS client)', bare));
console.log(summary('Peer, offererIsDtlsClient: true', peerOffererClient, bare));
console.log(summary('Peer (default: offerer is DTLS server)', peer, bare));
const sorted = [...peer].sort((x, y) => x - y);
const p50 = sorted[Math.floor(sorted.length / 2)]!;
const p95 = sorted[Math.floor(sorted.length * 0.95)]!;
console.log(`targets p50 <= 50 ms: ${p50 <= 50 ? 'met' : 'MISSED'}, p95 <= 150 ms: ${p95 <= 150 ? 'met' : 'MISSED'}`);
cleanupRtc();
cleanup();
