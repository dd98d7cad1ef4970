/**
 * Node clients and the server's media settings (`joined.room.media`): a tone bot in a room of
 * a server with `--audio-bitrate 12` encodes at 12 kbit/s, and is still heard at its pitch.
 */
import { describe, expect, it } from 'vitest';
import { Bot } from '../../src/bots/bot.js';
import { parseRtpHeader } from '../../src/media/rtp.js';
import { ToneSource } from '../../src/media/opus-sources.js';
import { until } from '../helpers/rtc.js';
import { useTestServer } from '../helpers/server.js';
import { frequencyOf, PEER, sfuMember } from './sfu-helpers.js';

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1', audioBitrateKbps: 12 }, { rtc: true });

describe('media settings and Node clients', () => {
  it('a tone bot keeps under the room\'s --audio-bitrate (12 kbit/s: 30-byte packets, not its usual 80) and is heard at 440 Hz', async () => {
    const bot = new Bot({ wsUrl: ctx.server.wsUrl, room: 'capped-bot', source: new ToneSource(440), peer: PEER });
    const joined = await bot.start();
    expect(joined.room.media).toEqual({ videoCodecs: ['VP8', 'H264'], simulcast: true, audioBitrateKbps: 12 });
    const listener = await sfuMember(ctx.server.wsUrl, 'capped-bot', 'ear', undefined);
    const botId = bot.agent.id!;
    await until(() => (listener.heard.get(botId)?.length ?? 0) >= 100, 10_000, '2 s of the bot');
    const packets = listener.heard.get(botId)!.slice(-75);
    const meanPayload = packets.reduce((n, p) => n + parseRtpHeader(p).payloadLength, 0) / packets.length;
    expect(meanPayload).toBeLessThanOrEqual(31);
    expect(meanPayload).toBeGreaterThan(20);
    expect(Math.abs(frequencyOf(packets) - 440)).toBeLessThanOrEqual(1);
    await listener.stop();
    await bot.close();
  });
});
