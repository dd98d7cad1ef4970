import { readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isCallpeerError } from '../../src/errors.js';
import { cleanupRtc, Peer, type PeerSignal } from '../../src/rtc/peer.js';
import { parseSdp } from '../../src/rtc/sdp.js';
import { LOOPBACK, makePair, once, until, wire } from '../helpers/rtc.js';

const peers: Peer[] = [];
const track = (...ps: Peer[]) => { peers.push(...ps); return ps; };
afterEach(() => { for (const p of peers.splice(0)) p.close(); });
afterAll(() => cleanupRtc());

function rtp(seq: number, ssrc: number, payload = 'hello'): Buffer {
  const b = Buffer.alloc(12 + payload.length);
  b[0] = 0x80; b[1] = 111; b.writeUInt16BE(seq, 2); b.writeUInt32BE(seq * 960, 4); b.writeUInt32BE(ssrc, 8);
  b.write(payload, 12);
  return b;
}

// node-datachannel refused some first DTLS handshakes ("certificate verify failed") until Peer
// held an offerer's candidates until the answer (flushLocalCandidates; 0 in 1,000 concurrent
// setups since, test/bench/dtls-setup.bench.ts). These tests are about negotiation and media:
// a pair that fails for any reason is still tried again; MeshAgent's own retry is tested apart.
describe('Peer negotiation (two node-datachannel peers in-process)', { retry: 2 }, () => {
  it('an audio offer is answered, both connect, and raw RTP flows both ways on the signaled SSRCs', async () => {
    const [a, b] = track(...makePair());
    wire(a!, b!);
    const bTrack = once<[import('../../src/rtc/media-track.js').MediaTrack]>(b!, 'track');
    const aTrack = once<[import('../../src/rtc/media-track.js').MediaTrack]>(a!, 'track');
    const sending = a!.addAudioTrack();
    const [remote] = await bTrack;
    const [back] = await aTrack;
    expect(remote.mid).toBe(sending.mid);
    expect(remote.remoteSsrcs).toEqual([sending.localSsrc]);
    expect(back.remoteSsrcs).toEqual([remote.localSsrc]);
    await Promise.all([once(a!, 'connected'), once(b!, 'connected')]);
    await until(() => sending.isOpen() && remote.isOpen(), 3000, 'tracks open');
    const gotB: number[] = [];
    const gotA: number[] = [];
    remote.onRtp = (p) => gotB.push(p.readUInt16BE(2));
    sending.onRtp = (p) => gotA.push(p.readUInt16BE(2));
    for (let i = 0; i < 5; i++) { sending.send(rtp(i, sending.localSsrc)); remote.send(rtp(100 + i, remote.localSsrc)); }
    await until(() => gotB.length === 5 && gotA.length === 5, 3000, 'packets');
    expect(gotB).toEqual([0, 1, 2, 3, 4]);
    expect(gotA).toEqual([100, 101, 102, 103, 104]);
  });

  it('answers a Chromium offer with exactly Opus audio, inactive video and the data channel', () => {
    const [p] = track(new Peer(LOOPBACK));
    const signals: PeerSignal[] = [];
    p!.on('signal', (s) => signals.push(s));
    const tracks: string[] = [];
    p!.on('track', (t) => tracks.push(t.mid));
    const offer = readFileSync(new URL('../fixtures/rtc/chromium-offer-av-dc.sdp', import.meta.url), 'utf8');
    expect(p!.handleRemoteDescription(offer, 'offer')).toBe(true);
    return until(() => signals.some((s) => s.kind === 'description')).then(() => {
      const answer = signals.find((s) => s.kind === 'description');
      expect(answer).toMatchObject({ type: 'answer' });
      const d = parseSdp((answer as { sdp: string }).sdp);
      expect(d.media.map((m) => [m.kind, m.mid, m.direction])).toEqual([
        ['audio', '0', 'sendrecv'], ['video', '1', 'inactive'], ['application', '2', 'sendrecv'],
      ]);
      expect(d.media[0]!.codecs.map((c) => [c.payloadType, c.name, c.fmtp])).toEqual([[111, 'opus', 'minptime=10;useinbandfec=1']]);
      expect(d.media[0]!.extmaps).toEqual([]);
      expect(d.media[0]!.ssrcs.map((s) => s.ssrc)).toEqual([p!.track('0')!.localSsrc]);
      expect(tracks).toEqual(['0']);
      expect(p!.track('0')!.remoteSsrcs).toEqual([4226543641]);
    });
  });

  it('queues candidates that arrive before the description and drops end-of-candidates', async () => {
    const [a, b] = track(...makePair());
    const held: PeerSignal[] = [];
    // An offering Peer sends its own candidates only after the answer (flushLocalCandidates):
    // b gets a candidate of a's host by hand first, then the description, held back a while.
    a!.on('signal', (s) => { if (s.kind === 'candidate') b!.addRemoteCandidate(s.candidate, s.mid); else held.push(s); });
    b!.on('signal', (s) => { if (s.kind === 'description') a!.handleRemoteDescription(s.sdp, s.type); else a!.addRemoteCandidate(s.candidate, s.mid); });
    b!.addRemoteCandidate('');
    b!.addRemoteCandidate('a=end-of-candidates', '0');
    b!.addRemoteCandidate('candidate:1 1 UDP 2122317823 127.0.0.1 9 typ host', '0');
    a!.createDataChannel('chat');
    await until(() => held.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    for (const s of held.splice(0)) b!.handleRemoteDescription((s as { sdp: string }).sdp, 'offer');
    await Promise.all([once(a!, 'connected'), once(b!, 'connected')]);
  });

  it('refuses garbage SDP with INVALID_SDP and stays usable', () => {
    const [p] = track(new Peer(LOOPBACK));
    let code: unknown;
    try { p!.handleRemoteDescription('v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n', 'offer'); } catch (err) { code = isCallpeerError(err) && err.code; }
    expect(code).toBe('INVALID_SDP');
    expect(p!.closed).toBe(false);
    expect(p!.tracks()).toEqual([]);
  });

  it('a listener throwing inside a native callback closes that peer with error, and the process lives', async () => {
    const [a, b] = track(...makePair());
    wire(a!, b!);
    const errors: string[] = [];
    a!.on('error', (e) => errors.push(e.code));
    a!.on('connected', () => { throw new Error('listener bug'); });
    const closed = once<[string]>(a!, 'closed');
    a!.createDataChannel('x');
    expect((await closed)[0]).toBe('error');
    expect(errors).toEqual(['INTERNAL']);
    expect(a!.closed).toBe(true);
  });

  it('close is idempotent, cascades to tracks and channels, and later calls throw CLOSED', async () => {
    const [a, b] = track(...makePair());
    wire(a!, b!);
    const t = a!.addAudioTrack();
    const ch = a!.createDataChannel('x');
    await once(a!, 'connected');
    const reasons: string[] = [];
    a!.on('closed', (r) => reasons.push(r));
    let trackClosed = 0;
    let channelClosed = 0;
    t.on('closed', () => trackClosed++);
    ch.on('closed', () => channelClosed++);
    a!.close();
    a!.close();
    expect(reasons).toEqual(['closed']);
    expect([trackClosed, channelClosed, t.closed, t.send(Buffer.alloc(20))]).toEqual([1, 1, true, false]);
    expect(a!.tracks()).toEqual([]);
    let code: unknown;
    try { a!.addAudioTrack(); } catch (err) { code = isCallpeerError(err) && err.code; }
    expect(code).toBe('CLOSED');
    a!.addRemoteCandidate('a=candidate:1 1 UDP 1 127.0.0.1 9 typ host', '0'); // no throw once closed
  });

  it('closing one side of a connection with a data channel closes the other side too, within a second', async () => {
    const [a, b] = track(...makePair());
    wire(a!, b!);
    a!.addAudioTrack();
    a!.createDataChannel('x');
    await Promise.all([once(a!, 'connected'), once(b!, 'connected')]);
    const bClosed = once<[string]>(b!, 'closed', 2000);
    const t0 = Date.now();
    a!.close();
    // DTLS close_notify / SCTP abort reach b at once; a media-only peer hears nothing until the
    // ~30 s ICE consent timeout, so callers tear media-only peers down through signaling.
    expect((await bClosed)[0]).toBe('closed');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(b!.tracks()).toEqual([]);
  });

  it('adds audio to a data-channel-only connection by renegotiating', async () => {
    const [a, b] = track(...makePair());
    wire(a!, b!);
    a!.createDataChannel('x');
    await Promise.all([once(a!, 'connected'), once(b!, 'connected')]);
    const gotTrack = once<[import('../../src/rtc/media-track.js').MediaTrack]>(a!, 'track');
    const t = b!.addAudioTrack({ direction: 'sendonly' });
    const [remote] = await gotTrack;
    await until(() => t.isOpen() && b!.signalingState() === 'stable', 3000, 'track open');
    const got: number[] = [];
    remote.onRtp = (p) => got.push(p.readUInt16BE(2));
    for (let i = 0; i < 3; i++) t.send(rtp(i, t.localSsrc));
    await until(() => got.length === 3, 3000, 'packets');
    expect(remote.direction).toBe('recvonly');
  });

  it('a section first offered inactive (its track ended before the offer went out) and then reused is received', async () => {
    // What an SFU does when a publisher's connection fails at once: the subscriber's section for
    // it is retired before any offer carried it, then reused for the next track.
    const [a, b] = track(...makePair());
    const sdps: string[] = [];
    wire(a!, b!, (from, s) => { if (from === b && s.kind === 'description') sdps.push(s.sdp); return true; });
    a!.createDataChannel('x');
    await Promise.all([once(a!, 'connected'), once(b!, 'connected')]);
    const gone = a!.addAudioTrack({ direction: 'sendonly', streamId: 'p1', trackId: 'p1-microphone' });
    a!.retireTrack(gone);
    await until(() => b!.tracks().some((t) => t.mid === gone.mid) && a!.signalingState() === 'stable', 3000, 'the inactive section answered');
    expect(b!.tracks().find((t) => t.mid === gone.mid)!.direction).toBe('inactive');
    const gotTrack = once<[import('../../src/rtc/media-track.js').MediaTrack]>(b!, 'track');
    const t = a!.addAudioTrack({ direction: 'sendonly', streamId: 'p2', trackId: 'p2-microphone' });
    expect(t.mid).toBe(gone.mid); // reused
    const [remote] = await gotTrack;
    expect(remote.mid).toBe(t.mid);
    expect(remote.remoteStreamId).toBe('p2');
    await until(() => t.isOpen() && a!.signalingState() === 'stable', 3000, 'track open');
    expect(remote.direction).toBe('recvonly');
    expect(parseSdp(sdps.at(-1)!).media.find((m) => m.mid === t.mid)!.direction).toBe('recvonly');
    const got: number[] = [];
    remote.onRtp = (p) => got.push(p.readUInt16BE(2));
    for (let i = 0; i < 3; i++) t.send(rtp(i, t.localSsrc));
    await until(() => got.length === 3, 3000, 'packets');
  });

  it('glare: both sides offer audio at once; the polite one yields and the colliding mid carries both directions', async () => {
    const [a, b] = track(...makePair());
    wire(a!, b!);
    a!.createDataChannel('x');
    await Promise.all([once(a!, 'connected'), once(b!, 'connected')]);
    const ta = a!.addAudioTrack();
    const tb = b!.addAudioTrack();
    await until(() => ta.remoteSending && tb.remoteSending && a!.signalingState() === 'stable' && b!.signalingState() === 'stable', 5000, 'negotiated');
    // Both picked the first free mid; b (polite) rolled back and answered a's offer with its own track.
    expect(ta.mid).toBe(tb.mid);
    expect(ta.remoteSsrcs).toEqual([tb.localSsrc]);
    expect(tb.remoteSsrcs).toEqual([ta.localSsrc]);
    await until(() => ta.isOpen() && tb.isOpen(), 3000, 'open');
    const got: number[] = [];
    ta.onRtp = (p) => got.push(p.readUInt32BE(8));
    tb.send(rtp(1, tb.localSsrc));
    await until(() => got.length === 1, 3000, 'packet');
    expect(got).toEqual([tb.localSsrc]);
  });
});
