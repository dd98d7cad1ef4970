/**
 * A video Subscription whose first sends fail (the subscriber's m-section not negotiated, or
 * DTLS not done): the key frame it started on never reached the subscriber, so forwarding must
 * start again at the next key frame instead of going on with deltas nothing can decode.
 * A real Publication (fed through a LocalTrack) hands packets to the Subscription; the
 * subscriber's track is a fake whose `send` fails until it is opened.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { parseRtpHeader, writeRtpHeader } from '../../../src/media/rtp.js';
import { parseVp8Descriptor } from '../../../src/media/vp8.js';
import { LocalTrack } from '../../../src/rtc/local-track.js';
import type { MediaTrackEvents, PacketHandler, RtpTrack } from '../../../src/rtc/media-track.js';
import type { SdpCodec } from '../../../src/rtc/sdp.js';
import { Publication } from '../../../src/sfu/publication.js';
import { Subscription } from '../../../src/sfu/subscription.js';
import { ManualClock } from '../../helpers/clock.js';

const VP8: SdpCodec = { payloadType: 96, name: 'VP8', clockRate: 90000, channels: 1, fmtp: '', rtcpFb: ['nack', 'nack pli', 'ccm fir'] };

/** The subscriber's side: `send` fails (returns false, drops the packet) until `open`. */
class SubscriberTrack extends EventEmitter<MediaTrackEvents> implements RtpTrack {
  readonly mid = '1';
  readonly kind = 'video' as const;
  readonly codec = { ...VP8, payloadType: 100 };
  readonly localSsrc = 0x0a0b0c0d;
  readonly cname = 'sub';
  readonly remoteMedia = undefined;
  readonly closed = false;
  onRtp: PacketHandler | undefined;
  open = false;
  attempts = 0;
  /** RTP packets that got through (copies). */
  readonly received: Buffer[] = [];
  send(packet: Buffer): boolean {
    if (packet[1]! >= 200 && packet[1]! <= 206) return this.open; // RTCP (sender reports)
    this.attempts++;
    if (!this.open) return false;
    this.received.push(Buffer.from(packet));
    return true;
  }
}

/** One VP8 packet of a one-packet frame: 15-bit picture id; a key frame carries a 320x240 header. */
function vp8Packet(seq: number, pictureId: number, key: boolean): Buffer {
  const descriptor = [0x90, 0x80, 0x80 | (pictureId >> 8), pictureId & 0xff];
  // Frame tag (P bit 0 for a key frame), start code 9d 01 2a, width 320, height 240.
  const frame = key ? [0x50, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00] : [0x51, 0x00, 0x00, 0xaa];
  const payload = Buffer.from([...descriptor, ...frame]);
  const header = { padding: false, marker: true, payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc: 1111, csrcs: [], extensionProfile: undefined, extensions: [], extensionData: undefined };
  const out = Buffer.alloc(12 + payload.length);
  writeRtpHeader(header, out, 0);
  payload.copy(out, 12);
  return out;
}

function setup() {
  const clock = new ManualClock(1000);
  const log = silentLogger();
  const publisher = new LocalTrack('0', 'video', VP8);
  const pub = new Publication({
    publisher: 'p', source: 'camera', track: publisher, codec: VP8, clock, log, onLayersChanged: () => {}, onActiveLayers: () => {},
  });
  const track = new SubscriberTrack();
  const sub = new Subscription(pub, track, { id: 's', send: () => {} }, { clock, log });
  pub.subscriptions.add(sub);
  pub.rebuildFanout();
  let seq = 100;
  let picture = 0;
  /** The publisher sends one frame; the clock moves one frame (33 ms). */
  const frame = (key: boolean) => {
    publisher.deliver(vp8Packet(seq++, picture++, key));
    clock.advance(33);
  };
  const isKey = (p: Buffer) => parseVp8Descriptor(p.subarray(parseRtpHeader(p).payloadOffset)).keyframe;
  return { clock, pub, sub, track, frame, isKey };
}

describe('Subscription whose first sends fail', () => {
  it('starts again at the next key frame (asking for one, rate-limited) instead of forwarding deltas', () => {
    const { pub, track, frame, isKey, clock } = setup();
    frame(true); // the key frame: selected, "sent" into a track that is not open, lost
    expect(track.attempts).toBe(1);
    expect(pub.keyframeRequests().sent).toBe(1); // asked at once for another
    for (let i = 0; i < 5; i++) frame(false);
    // The deltas are not even tried: nothing the subscriber could decode.
    expect(track.attempts).toBe(1);
    // One request per 500 ms, however many deltas go by.
    const { sent } = pub.keyframeRequests();
    expect(sent).toBeLessThanOrEqual(2);
    track.open = true;
    for (let i = 0; i < 5; i++) frame(false);
    expect(track.received).toEqual([]);
    clock.advance(600);
    frame(false);
    expect(pub.keyframeRequests().sent).toBeGreaterThan(sent); // the request repeated after 500 ms
    frame(true);
    frame(false);
    frame(false);
    expect(track.received).toHaveLength(3);
    expect(isKey(track.received[0]!)).toBe(true);
    expect(track.received.slice(1).map(isKey)).toEqual([false, false]);
    // The stream the subscriber sees is continuous from there.
    const seqs = track.received.map((p) => parseRtpHeader(p).sequenceNumber);
    expect(seqs.map((s) => (s - seqs[0]!) & 0xffff)).toEqual([0, 1, 2]);
    expect(new Set(track.received.map((p) => parseRtpHeader(p).ssrc))).toEqual(new Set([track.localSsrc]));
  });

  it('a send failing after the stream got through does not restart it (no key frame wait, no request)', () => {
    const { pub, track, frame, isKey } = setup();
    track.open = true;
    frame(true);
    frame(false);
    const requests = pub.keyframeRequests().sent;
    track.open = false;
    frame(false); // dropped like a packet lost on the wire: NACK/PLI from the subscriber repair it
    track.open = true;
    frame(false);
    frame(false);
    expect(track.received.map(isKey)).toEqual([true, false, false, false]);
    expect(pub.keyframeRequests().sent).toBe(requests);
  });
});
