import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isCallpeerError } from '../../../src/errors.js';
import { findCodec, iceUfrag, mirrorDirection, parseSdp, primarySsrcs } from '../../../src/rtc/sdp.js';
import { planAnswer, DEFAULT_CAPABILITIES } from '../../../src/rtc/answer-plan.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/rtc/${name}`, import.meta.url), 'utf8');
const chromiumAvDc = fixture('chromium-offer-av-dc.sdp');
const chromiumRecvonly = fixture('chromium-offer-recvonly.sdp');
const ndcSendonly = fixture('ndc-offer-audio-sendonly.sdp');

function expectCode(fn: () => unknown, code: string) {
  try { fn(); } catch (err) { expect(isCallpeerError(err) && err.code).toBe(code); return; }
  throw new Error('did not throw');
}

describe('parseSdp', () => {
  it('parses a Chromium audio+video+datachannel offer', () => {
    const d = parseSdp(chromiumAvDc);
    expect(d.bundle).toEqual(['0', '1', '2']);
    expect(d.media.map((m) => [m.kind, m.mid, m.direction])).toEqual([
      ['audio', '0', 'sendrecv'], ['video', '1', 'sendrecv'], ['application', '2', 'sendrecv'],
    ]);
    const audio = d.media[0]!;
    expect(audio.codecs.map((c) => c.payloadType)).toEqual([111, 63, 9, 0, 8, 13, 110, 126]);
    expect(findCodec(audio, 'OPUS')).toEqual({
      payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1', rtcpFb: ['transport-cc'],
    });
    expect(audio.ssrcs).toEqual([{
      ssrc: 4226543641, cname: 'dlfoki07nKNvN+tV',
      streamId: 'fad0c97a-e65b-427d-84f7-4d95b05f336f', trackId: '716ccb4a-85a0-4bd5-8f55-ef47aff7cc5e',
    }]);
    expect(audio.extmaps[0]).toEqual({ id: 1, uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' });
    expect(audio.msid?.trackId).toBe('716ccb4a-85a0-4bd5-8f55-ef47aff7cc5e');
    expect(audio.setup).toBe('actpass');
    const video = d.media[1]!;
    expect(video.ssrcGroups).toEqual([{ semantics: 'FID', ssrcs: [923880425, 3410297667] }]);
    expect(primarySsrcs(video)).toEqual([923880425]);
    expect(findCodec(video, 'vp8')?.rtcpFb).toEqual(['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli']);
    expect(findCodec(video, 'rtx')?.fmtp).toBe('apt=96');
    expect(d.media[2]!.formats).toEqual(['webrtc-datachannel']);
  });

  it('parses a node-datachannel offer (session-level fingerprint, sendonly with ssrc)', () => {
    const d = parseSdp(ndcSendonly);
    expect(d.media).toHaveLength(1);
    const m = d.media[0]!;
    expect([m.kind, m.mid, m.direction, m.setup]).toEqual(['audio', '0', 'sendonly', 'actpass']);
    expect(m.ssrcs).toEqual([{ ssrc: 1234, cname: 'cname1', streamId: 'stream1', trackId: 'track1' }]);
    expect(findCodec(m, 'opus')?.fmtp).toContain('stereo=1');
  });

  it('accepts LF-only line ends and falls back to the index as mid', () => {
    const d = parseSdp('v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\nm=audio 9 RTP/AVP 0\na=recvonly\n');
    expect(d.media[0]).toMatchObject({ mid: '0', direction: 'recvonly', codecs: [{ payloadType: 0, name: '' }] });
  });

  it('refuses text that is not SDP, an SDP without media and a broken m-line with INVALID_SDP', () => {
    expectCode(() => parseSdp('hello'), 'INVALID_SDP');
    expectCode(() => parseSdp('v=0\r\ns=-\r\n'), 'INVALID_SDP');
    expectCode(() => parseSdp('v=0\r\nm=audio x UDP/TLS/RTP/SAVPF 111\r\n'), 'INVALID_SDP');
    expectCode(() => parseSdp('v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:abc\r\n'), 'INVALID_SDP');
  });

  it('mirrors directions', () => {
    expect(['sendrecv', 'sendonly', 'recvonly', 'inactive'].map((d) => mirrorDirection(d as 'sendrecv')))
      .toEqual(['sendrecv', 'recvonly', 'sendonly', 'inactive']);
  });
});

describe('planAnswer', () => {
  it('answers Chromium audio sendrecv with Opus and leaves video inactive by default', () => {
    const plan = planAnswer(parseSdp(chromiumAvDc));
    expect(plan.map((e) => [e.mid, e.kind, e.direction, e.codec?.payloadType])).toEqual([
      ['0', 'audio', 'sendrecv', 111], ['1', 'video', 'inactive', 96],
    ]);
    expect(plan[0]!.remoteSsrcs).toEqual([4226543641]);
  });

  it('a recorder receives audio and VP8 video and sends nothing', () => {
    const plan = planAnswer(parseSdp(chromiumAvDc), { ...DEFAULT_CAPABILITIES, sendAudio: false, receiveVideo: true });
    expect(plan.map((e) => [e.direction, e.codec?.name])).toEqual([['recvonly', 'opus'], ['recvonly', 'VP8']]);
    expect(plan[1]!.remoteSsrcs).toEqual([923880425]);
  });

  it('prefers H264 packetization-mode=1 constrained baseline when asked', () => {
    const plan = planAnswer(parseSdp(chromiumAvDc), { ...DEFAULT_CAPABILITIES, receiveVideo: true, videoCodecs: ['H264'] });
    expect(plan[1]!.codec?.payloadType).toBe(108);
  });

  it('a recvonly browser offer gets sendonly audio; a sendonly one gets recvonly', () => {
    expect(planAnswer(parseSdp(chromiumRecvonly))[0]).toMatchObject({ direction: 'sendonly', remoteSsrcs: [] });
    expect(planAnswer(parseSdp(ndcSendonly))[0]).toMatchObject({ direction: 'recvonly', remoteSsrcs: [1234] });
  });

  it('a WHEP viewer (sendVideo) gets sendonly video in the codec asked for; sendrecv video is sent on, not received', () => {
    const viewer = { ...DEFAULT_CAPABILITIES, receiveAudio: false, sendVideo: true };
    const plan = planAnswer(parseSdp(chromiumAvDc), viewer);
    expect(plan.map((e) => [e.kind, e.direction, e.codec?.name])).toEqual([['audio', 'sendonly', 'opus'], ['video', 'sendonly', 'VP8']]);
    expect(plan[1]!.attributes).toEqual([]); // nothing of receiving simulcast
    expect(planAnswer(parseSdp(chromiumAvDc), { ...viewer, videoCodecs: ['H264'] })[1]).toMatchObject({ direction: 'sendonly', codec: { payloadType: 108 } });
    // Without sendVideo the same offer's video stays inactive (the SFU's members never get video this way).
    expect(planAnswer(parseSdp(chromiumAvDc), { ...viewer, sendVideo: false })[1]!.direction).toBe('inactive');
  });

  it('a bundle-only section (port 0 with a=bundle-only, as GStreamer offers its second one) is in use, not rejected', () => {
    const gst = ndcSendonly.replace('m=audio 9', 'm=audio 0').replace('a=mid:0', 'a=mid:0\r\na=bundle-only');
    expect(parseSdp(gst).media[0]).toMatchObject({ port: 0, bundleOnly: true });
    expect(planAnswer(parseSdp(gst))[0]).toMatchObject({ direction: 'recvonly', remoteSsrcs: [1234] });
  });

  it('audio without Opus or a rejected section is answered inactive', () => {
    const noOpus = 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:a\r\na=rtpmap:0 PCMU/8000\r\n';
    expect(planAnswer(parseSdp(noOpus))[0]).toMatchObject({ mid: 'a', direction: 'inactive', codec: { name: 'PCMU' } });
    const rejected = ndcSendonly.replace('m=audio 9', 'm=audio 0');
    expect(planAnswer(parseSdp(rejected))[0]).toMatchObject({ direction: 'inactive', remoteSsrcs: [] });
  });
});

describe('iceUfrag', () => {
  it('reads the first a=ice-ufrag line, or nothing', () => {
    expect(iceUfrag('v=0\r\na=ice-ufrag:abCD+/1\r\na=ice-pwd:x\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:other\r\n')).toBe('abCD+/1');
    expect(iceUfrag('v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n')).toBeUndefined();
  });
});

/** A video section as Chromium 156 offers it with three `sendEncodings` (no a=ssrc lines). */
const chromiumSimulcast = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendonly', 'a=msid:s1 t1',
  'a=extmap:4 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  'a=extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  'a=rtpmap:96 VP8/90000', 'a=rtcp-fb:96 goog-remb', 'a=rtcp-fb:96 ccm fir', 'a=rtcp-fb:96 nack', 'a=rtcp-fb:96 nack pli',
  'a=rtpmap:97 rtx/90000', 'a=fmtp:97 apt=96', 'a=rtpmap:98 AV1/90000',
  'a=rid:q send', 'a=rid:h send', 'a=rid:f send', 'a=simulcast:send q;h;f', '',
].join('\r\n');

describe('planAnswer for simulcast video', () => {
  const receiver = { ...DEFAULT_CAPABILITIES, receiveVideo: true };

  it('receives the three rids with the MID/RID extensions and ccm fir (RFC 8853 answer)', () => {
    const [entry] = planAnswer(parseSdp(chromiumSimulcast), receiver);
    expect(entry).toMatchObject({ mid: '0', direction: 'recvonly', codec: { name: 'VP8', payloadType: 96 }, remoteSsrcs: [] });
    expect(entry!.attributes).toEqual([
      'rtcp-fb:96 ccm fir',
      'extmap:9 urn:ietf:params:rtp-hdrext:sdes:mid',
      'extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
      'rid:q recv', 'rid:h recv', 'rid:f recv',
      'simulcast:recv q;h;f',
    ]);
  });

  it('takes the first three of more rids, and none when not receiving video', () => {
    const four = chromiumSimulcast.replace('a=simulcast:send q;h;f', 'a=rid:x send\r\na=simulcast:send q;h;f;x');
    expect(planAnswer(parseSdp(four), receiver)[0]!.attributes).toContain('simulcast:recv q;h;f');
    expect(planAnswer(parseSdp(chromiumSimulcast))[0]).toMatchObject({ direction: 'inactive', attributes: [] });
  });

  it('parses a=simulcast and a=content', () => {
    const m = parseSdp(chromiumSimulcast.replace('a=sendonly', 'a=sendonly\r\na=content:slides')).media[0]!;
    expect(m.simulcast).toBe('send q;h;f');
    expect(m.rids).toEqual(['q', 'h', 'f']);
    expect(m.content).toBe('slides');
  });
});
