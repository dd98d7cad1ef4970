/**
 * The SFU room's PCM gateway protects a phone's voice on lossy links (issue 15): its encoder
 * hears the worst loss its subscribers' receiver reports say, and codes in-band FEC. A Node
 * subscriber whose link eats every tenth packet of the phone's audio (it reports the loss as a
 * browser's receiver would) soon receives SILK or hybrid packets (the only Opus modes with
 * FEC); before, on a clean link, the gateway sent CELT (the cheap mode it uses without loss).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SfuAgent } from '../../src/client/sfu-agent.js';
import { parseRtpHeader, isRtcp } from '../../src/media/rtp.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { RtpReceiver } from '../../src/rtc/rtp-receiver.js';
import { until } from '../helpers/rtc.js';
import { useTestServer } from '../helpers/server.js';
import { PcmProbe } from './pcm-harness.js';
import { PEER } from './sfu-helpers.js';

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });
afterAll(() => cleanupRtc());

/** Opus TOC configuration (RFC 6716 §3.1): 0-11 SILK, 12-15 hybrid, 16-31 CELT. */
const celt = (payload: Buffer) => payload[0]! >> 3 >= 16;

describe('SFU gateway encoder on a lossy subscriber link', { timeout: 40_000 }, () => {
  it('10 % loss reported by a subscriber: the phone\'s stream moves from CELT to SILK/hybrid (FEC); the loss hint comes from the reports', async () => {
    const phone = await PcmProbe.open(ctx.server, { room: 'gw-fec', rate: '48000' });
    const stopTone = phone.speak(440, 48000);
    await phone.waitFor('connected');
    const modes: { celt: boolean; at: number }[] = [];
    let dropping = false;
    let n = 0;
    const sub = new SfuAgent({ wsUrl: ctx.server.wsUrl, room: 'gw-fec', name: 'listener', audio: false, video: false, peer: PEER });
    sub.on('track', (_publisher, track) => {
      if (track.kind !== 'audio') return;
      const receiver = new RtpReceiver(track, { attach: false, clockRate: 48000 });
      track.onRtp = (p) => {
        if (isRtcp(p)) return;
        if (dropping && ++n % 10 === 0) return;
        const h = parseRtpHeader(p);
        if (h.payloadLength > 2) modes.push({ celt: celt(p.subarray(h.payloadOffset)), at: Date.now() });
        receiver.handleRtp(p);
      };
    });
    try {
      await sub.start();
      await until(() => modes.length > 100, 15_000, 'the phone\'s voice');
      expect(modes.slice(-50).every((m) => m.celt)).toBe(true); // a clean link: CELT
      const t0 = Date.now();
      dropping = true;
      await until(() => modes.filter((m) => m.at > t0).slice(-25).length === 25 && modes.filter((m) => m.at > t0).slice(-25).every((m) => !m.celt), 20_000, 'SILK/hybrid packets after the loss reports');
      const switchedMs = modes.find((m) => m.at > t0 && !m.celt)!.at - t0;
      console.log(`gateway encoder left CELT ${switchedMs} ms after the subscriber began losing 10 %`);
    } finally {
      stopTone();
      phone.close();
      await sub.close();
    }
  });
});
