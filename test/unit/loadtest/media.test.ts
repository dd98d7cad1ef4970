import { describe, expect, it } from 'vitest';
import { epochNow, SharedAudio } from '../../../src/loadtest/media.js';
import { readOpusStamp } from '../../../src/media/opus-stamp.js';
import type { OpusSource } from '../../../src/media/opus-sources.js';
import type { OpusSender } from '../../../src/rtc/opus-sender.js';

/** One CELT 20 ms frame, code 0: what the shared source hands out. */
const FRAME = Buffer.from([0xfc, 0x11, 0x22, 0x33]);
const source: OpusSource = { nextFrame: () => FRAME };

function fakeSender() {
  const sent: { frame: Buffer; at: number }[] = [];
  const sender = { sendFrame: (frame: Buffer) => { sent.push({ frame, at: epochNow() }); return true; }, skipFrames: () => {} };
  return { sender: sender as unknown as OpusSender, sent };
}

describe('SharedAudio', () => {
  it('sends every sender the source\'s frame with its send time in the padding, the same for a slot\'s senders', async () => {
    const audio = new SharedAudio(source);
    const senders = Array.from({ length: 8 }, fakeSender);
    for (const s of senders) audio.add(s.sender);
    audio.start();
    await new Promise((r) => setTimeout(r, 130));
    audio.stop();
    for (const { sent } of senders) {
      expect(sent.length).toBeGreaterThanOrEqual(4);
      for (const { frame, at } of sent) {
        // The frame itself, untouched, after the 3 bytes of code 3 framing.
        expect(frame.subarray(3, 6).equals(FRAME.subarray(1))).toBe(true);
        const stamp = readOpusStamp(frame)!;
        expect(at - stamp).toBeGreaterThanOrEqual(0);
        expect(at - stamp).toBeLessThan(5);
      }
    }
    // Senders 0 and 4 share a slot (four slots): one stamped buffer for both.
    expect(senders[0]!.sent[0]!.frame).toBe(senders[4]!.sent[0]!.frame);
    expect(readOpusStamp(senders[0]!.sent[0]!.frame)).not.toBe(readOpusStamp(senders[1]!.sent[0]!.frame));
  });
});
