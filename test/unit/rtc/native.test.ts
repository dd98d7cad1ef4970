import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isRelayCandidate, offerAsDtlsClient, offerAsDtlsServer, relayCandidatesOnly, withReceiveBandwidth } from '../../../src/rtc/native.js';
import { parseSdp } from '../../../src/rtc/sdp.js';

describe('offerAsDtlsClient', () => {
  it('turns every a=setup:actpass of a CRLF offer into active and leaves the rest byte-identical', () => {
    const offer = readFileSync(new URL('../../fixtures/rtc/chromium-offer-av-dc.sdp', import.meta.url), 'utf8').replace(/\r?\n/g, '\r\n');
    const out = offerAsDtlsClient(offer);
    expect(parseSdp(out).media.map((m) => m.setup)).toEqual(['active', 'active', 'active']);
    expect(out.replaceAll('a=setup:active', 'a=setup:actpass')).toBe(offer);
  });

  it('does not touch an offer that already picked a role', () => {
    const sdp = 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:passive\r\n';
    expect(offerAsDtlsClient(sdp)).toBe(sdp);
    expect(offerAsDtlsServer(sdp.replace('passive', 'active'))).toBe(sdp.replace('passive', 'active'));
  });

  it('offerAsDtlsServer turns every a=setup:actpass into passive and nothing else', () => {
    const offer = readFileSync(new URL('../../fixtures/rtc/chromium-offer-av-dc.sdp', import.meta.url), 'utf8').replace(/\r?\n/g, '\r\n');
    const out = offerAsDtlsServer(offer);
    expect(parseSdp(out).media.map((m) => m.setup)).toEqual(['passive', 'passive', 'passive']);
    expect(out.replaceAll('a=setup:passive', 'a=setup:actpass')).toBe(offer);
  });
});

describe('relayCandidatesOnly', () => {
  // A re-offer as libdatachannel makes it once gathering is done: every candidate embedded.
  const reoffer = [
    'v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:0',
    'a=candidate:1 1 UDP 2114977791 127.0.0.1 58517 typ host',
    'a=candidate:2 1 UDP 1678769919 127.0.0.1 58517 typ srflx raddr 0.0.0.0 rport 0',
    'a=candidate:3 1 UDP 1048063 127.0.0.2 62946 typ relay raddr 0.0.0.0 rport 0',
    'a=end-of-candidates', 'a=setup:actpass', '',
  ];

  it('keeps relay candidates and every other line, drops host and srflx candidates', () => {
    const out = relayCandidatesOnly(reoffer.join('\r\n'));
    expect(out).toBe(reoffer.filter((l) => !/typ (host|srflx)/.test(l)).join('\r\n'));
    expect(relayCandidatesOnly(reoffer.join('\n'))).toBe(reoffer.filter((l) => !/typ (host|srflx)/.test(l)).join('\n'));
  });

  it('leaves a description without candidates byte-identical', () => {
    const sdp = 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n';
    expect(relayCandidatesOnly(sdp)).toBe(sdp);
  });

  it('tells a relay candidate by its type, with or without a=', () => {
    expect(isRelayCandidate('candidate:3 1 UDP 1048063 127.0.0.2 62946 typ relay raddr 0.0.0.0 rport 0')).toBe(true);
    expect(isRelayCandidate('a=candidate:3 1 UDP 1048063 127.0.0.2 62946 typ relay')).toBe(true);
    expect(isRelayCandidate('a=candidate:1 1 UDP 2114977791 127.0.0.1 58517 typ host')).toBe(false);
    expect(isRelayCandidate('a=candidate:9 1 UDP 1 10.0.0.1 9 typ relayish')).toBe(false);
  });
});

describe('withReceiveBandwidth', () => {
  const sdp = [
    'v=0', 'o=rtc 1 0 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1 2 3',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:0',
    'm=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'b=AS:5000', 'a=mid:1',
    'm=video 0 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=mid:2',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=mid:3', '',
  ].join('\r\n');

  it('puts b=AS and b=TIAS after c= in each live audio and video section, replacing what was there', () => {
    expect(withReceiveBandwidth(sdp, { audioKbps: 24, videoKbps: 800 }).split('\r\n')).toEqual([
      'v=0', 'o=rtc 1 0 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1 2 3',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'b=AS:24', 'b=TIAS:24000', 'a=mid:0',
      'm=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'b=AS:800', 'b=TIAS:800000', 'a=mid:1',
      'm=video 0 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=mid:2',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=mid:3', '',
    ]);
  });

  it('leaves a kind without a figure as it was, and keeps \\n line ends', () => {
    expect(withReceiveBandwidth(sdp, { audioKbps: 24 })).toBe(sdp.replace('c=IN IP4 0.0.0.0\r\na=mid:0', 'c=IN IP4 0.0.0.0\r\nb=AS:24\r\nb=TIAS:24000\r\na=mid:0'));
    const lf = 'v=0\nm=video 9 RTP/AVP 96\nc=IN IP4 0.0.0.0\n';
    expect(withReceiveBandwidth(lf, { videoKbps: 100 })).toBe('v=0\nm=video 9 RTP/AVP 96\nc=IN IP4 0.0.0.0\nb=AS:100\nb=TIAS:100000\n');
    expect(withReceiveBandwidth(sdp, {})).toBe(sdp);
  });
});
