import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { offerAsDtlsClient } from '../../../src/rtc/native.js';
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
  });
});
