import { describe, expect, it } from 'vitest';
import { iceServerLinks, parseTrickleFragment } from '../../../src/protocol/whip.js';

describe('parseTrickleFragment (RFC 8840 sdpfrag)', () => {
  it('reads candidates by the mid they follow, the ICE credentials and end-of-candidates', () => {
    const frag = [
      'a=ice-options:trickle ice2',
      'a=group:BUNDLE 0 1',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'a=mid:0',
      'a=ice-ufrag:EsAw',
      'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
      'a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1',
      'a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag EsAw network-id 2',
      'a=end-of-candidates',
      '',
    ].join('\r\n');
    expect(parseTrickleFragment(frag)).toEqual({
      ufrag: 'EsAw',
      pwd: 'P2uYro0UCOQ4zxjKXaWCBui1',
      candidates: [
        { candidate: 'candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1', mid: '0' },
        { candidate: 'candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag EsAw network-id 2', mid: '0' },
      ],
      end: true,
    });
  });

  it('a new m= section forgets the mid; LF line ends and blank lines are fine', () => {
    const f = parseTrickleFragment('a=mid:0\nm=video 9 UDP/TLS/RTP/SAVPF 96\n\na=candidate:1 1 udp 1 127.0.0.1 5000 typ host\n');
    expect(f.candidates).toEqual([{ candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', mid: undefined }]);
    expect(f.end).toBe(false);
    expect(f.ufrag).toBeUndefined();
  });

  it.each([
    ['plain text', 'hello there'],
    ['a candidate with too few fields', 'a=candidate:1 1 udp'],
    ['JSON', '{"candidate":"x"}'],
  ])('refuses %s with INVALID_SDP', (_name, text) => {
    expect(() => parseTrickleFragment(text)).toThrow(expect.objectContaining({ code: 'INVALID_SDP' }));
  });
});

describe('iceServerLinks (RFC 9725 section 4.6)', () => {
  it('one Link value per URL; TURN credentials quoted, with credential-type', () => {
    expect(iceServerLinks([
      { urls: 'stun:stun.example.net' },
      { urls: ['turn:turn.example.net?transport=udp', 'turns:turn.example.net?transport=tcp'], username: 'user"1', credential: 'p\\w' },
    ])).toEqual([
      '<stun:stun.example.net>; rel="ice-server"',
      '<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user\\"1"; credential="p\\\\w"; credential-type="password"',
      '<turns:turn.example.net?transport=tcp>; rel="ice-server"; username="user\\"1"; credential="p\\\\w"; credential-type="password"',
    ]);
    expect(iceServerLinks([])).toEqual([]);
  });
});
