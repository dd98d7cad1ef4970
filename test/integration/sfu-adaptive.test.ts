/**
 * Adaptive layers for loss (issue 15): a node-datachannel subscriber whose link loses 10 % of
 * what it receives (every tenth packet never reaches its receiver, which reports the loss as a
 * browser's would) is moved down to a lower simulcast layer within seconds (`layer` with
 * reason `loss`) and back up to `high` within about 20 s of the loss ending. Another
 * subscriber on a clean link keeps `high` throughout, and the publisher (three VP8 layers from
 * the fixtures) is never asked to stop the high layer; the layer the lossy one needs is turned
 * on for it (nobody else wanted it: dynacast had paused it).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SfuAgent } from '../../src/client/sfu-agent.js';
import { isRtcp } from '../../src/media/rtp.js';
import type { LayerChangedMessage } from '../../src/protocol/signaling.js';
import { cleanupRtc } from '../../src/rtc/peer.js';
import { RtpReceiver } from '../../src/rtc/rtp-receiver.js';
import { until } from '../helpers/rtc.js';
import { useTestServer } from '../helpers/server.js';
import { cameraMember, PEER } from './sfu-helpers.js';

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1' }, { rtc: true });
afterAll(() => cleanupRtc());

describe('adaptive layers for loss', () => {
  it('10 % loss on a subscriber\'s link: down within seconds (reason loss), back to high within ~20 s after; another subscriber and the publisher keep high', async () => {
    const publisher = await cameraMember(ctx.server.wsUrl, 'adapt', 'camera', 'vp8');
    const clean = await cameraMember(ctx.server.wsUrl, 'adapt', 'clean', undefined);
    const layers: (LayerChangedMessage & { at: number })[] = [];
    let dropping = false;
    let n = 0;
    let receiver: RtpReceiver | undefined;
    const sub = new SfuAgent({ wsUrl: ctx.server.wsUrl, room: 'adapt', name: 'lossy', audio: false, video: false, peer: { ...PEER, capabilities: { receiveVideo: true } } });
    sub.on('layer', (l) => layers.push({ ...l, at: Date.now() }));
    sub.on('track', (_publisher, track) => {
      if (track.kind !== 'video') return;
      // A receiver as a browser has one: it reports what it lost; the lossy link eats every tenth packet first.
      receiver = new RtpReceiver(track, { attach: false, clockRate: 90000 });
      track.onRtp = (p) => {
        if (!isRtcp(p) && dropping && ++n % 10 === 0) return;
        receiver!.handleRtp(p);
      };
    });
    try {
      await sub.start();
      await until(() => layers.at(-1)?.quality === 'high', 20_000, 'the high layer forwarded');
      const publishLayersBefore = publisher.publishLayers.length;
      const cleanLayersBefore = clean.layers.length;
      const t0 = Date.now();
      dropping = true;
      await until(() => layers.some((l) => l.at >= t0 && l.reason === 'loss'), 15_000, 'a step down for loss');
      const down = layers.find((l) => l.at >= t0 && l.reason === 'loss')!;
      console.log(`down to ${down.quality} ${down.at - t0} ms after the loss began`);
      expect(['medium', 'low']).toContain(down.quality);
      expect(down.at - t0).toBeLessThanOrEqual(8000);
      await new Promise((r) => setTimeout(r, 3000));
      const t1 = Date.now();
      dropping = false;
      await until(() => layers.at(-1)?.quality === 'high' && layers.at(-1)!.at >= t1, 30_000, 'back to high');
      const up = layers.at(-1)!;
      console.log(`back to high ${up.at - t1} ms after the loss ended; layers: ${layers.map((l) => `${l.quality}/${l.reason}@${l.at - t0}`).join(' ')}`);
      expect(up.reason).toBe('requested');
      expect(up.at - t1).toBeLessThanOrEqual(25_000);
      // The clean subscriber stayed on high; the publisher kept sending high all along.
      expect(clean.layers.at(-1)?.quality).toBe('high');
      expect(clean.layers.slice(cleanLayersBefore)).toEqual([]);
      console.log(`publish-layers during the test: ${publisher.publishLayers.slice(publishLayersBefore).map((p) => p.active.join('+')).join(' | ')}`);
      for (const p of publisher.publishLayers.slice(publishLayersBefore)) expect(p.active).toContain('high');
      expect(publisher.publishLayers.slice(publishLayersBefore).some((p) => p.active.includes(down.quality))).toBe(true);
    } finally {
      receiver?.close();
      await sub.close();
      await clean.stop();
      await publisher.stop();
    }
  }, 90_000);
});
