/** The call page's SFU offer helpers (static/js/sfu-sdp.js), run in Node. */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JS module of the pages (no types)
import { annotateOffer, msidTrackOf, offerCname, simulcastSsrcs } from '../../../static/js/sfu-sdp.js';

const OFFER = ['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', 'a=sendrecv', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:1',
  'a=rid:q send', 'a=simulcast:send q;h;f', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:2', ''].join('\r\n');

describe('annotateOffer', () => {
  it('adds the SIM group and a=ssrc lines to the simulcast section and a=content:slides to the screen', () => {
    const out: string = annotateOffer(OFFER, { ssrcs: new Map([['1', [11, 22, 33]]]), slides: new Set(['2']), cname: 'me' });
    expect(out.split('\r\n')).toEqual([
      'v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', 'a=sendrecv', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:1',
      'a=ssrc-group:SIM 11 22 33', 'a=ssrc:11 cname:me', 'a=ssrc:22 cname:me', 'a=ssrc:33 cname:me',
      'a=rid:q send', 'a=simulcast:send q;h;f', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:2', 'a=content:slides', '',
    ]);
  });

  it('changes nothing without SSRCs or slides, nor a section that lists its SSRCs (Firefox)', () => {
    expect(annotateOffer(OFFER)).toBe(OFFER);
    const firefox = OFFER.replace('a=mid:1\r\n', 'a=mid:1\r\na=ssrc:5 cname:{x}\r\n');
    expect(annotateOffer(firefox, { ssrcs: new Map([['1', [11, 22]]]) })).toBe(firefox);
    expect(offerCname(firefox)).toBe('{x}');
  });

  it('finds the track id the server gave a section', () => {
    const answer = 'v=0\r\nm=audio 9 X 111\r\na=mid:0\r\na=msid:pubA pubA-microphone\r\nm=video 9 X 96\r\na=mid:1\r\na=msid:pubA pubA-camera\r\n';
    expect(msidTrackOf(answer, '1')).toBe('pubA-camera');
    expect(msidTrackOf(answer, '0')).toBe('pubA-microphone');
    expect(msidTrackOf(answer, '2')).toBeUndefined();
  });
});

describe('simulcastSsrcs', () => {
  const stats = [
    { type: 'outbound-rtp', mid: '1', rid: 'f', ssrc: 3 }, { type: 'outbound-rtp', mid: '1', rid: 'q', ssrc: 1 },
    { type: 'outbound-rtp', mid: '0', ssrc: 9 }, { type: 'inbound-rtp', mid: '1', rid: 'h', ssrc: 7 },
  ];
  it('orders the encodings as the rids, leaving out those without stats yet', () => {
    expect(simulcastSsrcs(stats, '1', ['q', 'h', 'f'])).toEqual([1, 3]);
    expect(simulcastSsrcs([...stats, { type: 'outbound-rtp', mid: '1', rid: 'h', ssrc: 2 }], '1', ['q', 'h', 'f'])).toEqual([1, 2, 3]);
  });
});

describe('qualityForWidth', () => {
  it('small tiles low, mid-size medium, large or spotlit high; device pixels count', async () => {
    // @ts-expect-error plain JS module of the pages (no types)
    const { qualityForWidth } = await import('../../../static/js/sfu-view.js');
    expect([200, 320, 321, 640, 641].map((w) => qualityForWidth(w))).toEqual(['low', 'low', 'medium', 'medium', 'high']);
    expect(qualityForWidth(200, 2)).toBe('medium');
    expect(qualityForWidth(100, 1, true)).toBe('high');
  });
});
