/**
 * H264 in SFU rooms, end to end with Node members on loopback: a publisher offers H264 only
 * (packetization-mode=1, profile-level-id=42e01f) and sends the x264 fixture (320x240, 15 fps,
 * IDRs every second) packetized by media/h264-packetizer.ts; a subscriber receives it through
 * the server, depacketizes it back to Annex B, and ffprobe reads what it got; so does the
 * recorder, into `NN-name-camera.h264`. A server whose --video-codecs leaves H264 out refuses
 * the same publisher with CODEC_NOT_SUPPORTED.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { h264StartsKeyframe } from '../../src/media/h264.js';
import { Recorder } from '../../src/bots/recorder/recorder.js';
import { H264Depacketizer, type H264Frame } from '../../src/media/h264-packetizer.js';
import { buildRtcp } from '../../src/media/rtcp.js';
import { until } from '../helpers/rtc.js';
import { startTestServer, useTestServer } from '../helpers/server.js';
import { has } from '../helpers/tools.js';
import { cameraMember, PEER, type Received } from './sfu-helpers.js';

const ctx = useTestServer({ topology: 'sfu', rtcBind: '127.0.0.1', videoCodecs: ['vp8', 'h264'] }, { rtc: true });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmp = () => mkdtempSync(path.join(tmpdir(), 'callpeer-sfu-h264-'));

function payloadOf(r: Received): Buffer {
  return r.packet.subarray(r.header.payloadOffset, r.header.payloadOffset + r.header.payloadLength);
}

/** ffprobe's view of a video file's first stream, frames counted by decoding. */
function probeVideo(file: string): { codec_name: string; profile: string; width: number; height: number; nb_read_frames: string } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,profile,width,height,nb_read_frames', '-of', 'json', file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout).streams[0];
}

describe.skipIf(!has('ffprobe'))('SFU rooms with an H264 camera (Node publisher and subscriber)', () => {
  it('forwards the H264 camera as one stream the subscriber depacketizes into Annex B that ffprobe reads: h264, 320x240, every frame', async () => {
    const pub = await cameraMember(ctx.server.wsUrl, 'h264-fwd', 'pub', 'h264');
    const sub = await cameraMember(ctx.server.wsUrl, 'h264-fwd', 'sub', undefined);
    const pubId = pub.agent.id!;
    await until(() => sub.tracks.some((t) => t.id === `${pubId}-camera`), 10_000, 'the camera in the track list');
    expect(sub.tracks.find((t) => t.id === `${pubId}-camera`)).toEqual({
      id: `${pubId}-camera`, publisher: pubId, kind: 'video', source: 'camera', codec: 'H264', layers: [], muted: false,
    });
    await until(() => (sub.video.get(pubId)?.length ?? 0) > 0, 10_000, 'H264 packets at the subscriber');
    // The subscriber's section was negotiated in H264, mode 1, as the publisher offered it.
    const codec = sub.videoTracks.get(pubId)!.codec!;
    expect(codec.name).toBe('H264');
    expect(codec.fmtp).toMatch(/packetization-mode=1/);
    expect(codec.fmtp).toMatch(/profile-level-id=42e01f/);
    await sleep(3000);
    const got = sub.video.get(pubId)!;
    // One SSRC, sequence numbers +1. The server starts the stream at a key frame, but packets
    // it sends before the subscriber has applied its offer are dropped there (libdatachannel
    // routes by signaled SSRC): at worst the subscriber starts within one GOP (15 frames).
    expect(new Set(got.map((r) => r.header.ssrc)).size).toBe(1);
    for (let i = 1; i < got.length; i++) expect(got[i]!.header.sequenceNumber, `packet ${i}`).toBe((got[i - 1]!.header.sequenceNumber + 1) & 0xffff);
    const firstKey = got.findIndex((r) => h264StartsKeyframe(payloadOf(r)));
    expect(firstKey).toBeGreaterThanOrEqual(0);

    const frames: H264Frame[] = [];
    const d = new H264Depacketizer((f) => frames.push(f));
    for (const r of got) d.push({ sequenceNumber: r.header.sequenceNumber, timestamp: r.header.timestamp, marker: r.header.marker, payload: payloadOf(r) });
    // Nothing lost or unreadable after the first key frame: only frames before it are dropped.
    expect(d.stats.malformed).toBe(0);
    expect(d.stats.dropped).toBeLessThan(15);
    const seconds = (got.at(-1)!.at - got[firstKey]!.at) / 1000;
    // 15 fps for as long as it was received (within a frame or two either way).
    expect(Math.abs(frames.length - 15 * seconds)).toBeLessThanOrEqual(3);
    expect(frames[0]!.keyframe).toBe(true);
    expect(frames.filter((f) => f.keyframe).length).toBeGreaterThanOrEqual(Math.floor(seconds));
    const file = path.join(tmp(), 'received.h264');
    writeFileSync(file, Buffer.concat(frames.map((f) => f.data)));
    const stream = probeVideo(file);
    console.log(`H264 through the SFU: ${got.length} packets, ${frames.length} frames in ${seconds.toFixed(2)} s; ffprobe ${JSON.stringify(stream)}`);
    expect(stream).toMatchObject({ codec_name: 'h264', profile: 'Constrained Baseline', width: 320, height: 240 });
    expect(Number(stream.nb_read_frames)).toBe(frames.length);
    await sub.stop();
    await pub.stop();
  }, 30_000);

  it('a subscriber\'s PLI reaches the H264 publisher as a key-frame request, and an IDR follows', async () => {
    const pub = await cameraMember(ctx.server.wsUrl, 'h264-pli', 'pub', 'h264');
    const sub = await cameraMember(ctx.server.wsUrl, 'h264-pli', 'sub', undefined);
    const pubId = pub.agent.id!;
    await until(() => (sub.video.get(pubId)?.length ?? 0) > 30, 10_000, 'video');
    await sleep(1200); // past the subscription's own first request, and a natural IDR has cleared it
    const sender = pub.camera!.sender()!;
    const got = sub.video.get(pubId)!;
    const track = sub.videoTracks.get(pubId)!;
    const before = sender.stats.keyframesRequested;
    const from = got.length;
    track.send(buildRtcp([{ type: 'pli', senderSsrc: track.localSsrc, mediaSsrc: got[0]!.header.ssrc }]));
    await until(() => sender.stats.keyframesRequested > before, 3000, 'the key-frame request at the publisher');
    // The sender jumps to its next IDR at once: the next frame out is one.
    await until(() => got.slice(from).some((r) => h264StartsKeyframe(payloadOf(r))), 2000, 'an IDR after the PLI');
    await sub.stop();
    await pub.stop();
  }, 30_000);

  it('the recorder writes the H264 camera as NN-name-camera.h264 (Annex B), listed in the manifest; ffprobe reads every frame', async () => {
    const dir = tmp();
    const rec = new Recorder({ wsUrl: ctx.server.wsUrl, room: 'h264-rec', outDir: dir, peer: PEER });
    await rec.start();
    const pub = await cameraMember(ctx.server.wsUrl, 'h264-rec', 'hana', 'h264');
    await until(() => rec.manifest.files.some((f) => f.kind === 'video'), 10_000, 'the camera file opened');
    const opened = performance.now();
    const pubId = pub.agent.id;
    await sleep(3000);
    await pub.stop();
    const recordedMs = performance.now() - opened;
    const manifest = await rec.stop();
    expect(manifest).toMatchObject({ status: 'complete', topology: 'sfu', video: true });
    const entry = manifest.files.find((f) => f.kind === 'video')!;
    expect(entry).toMatchObject({ name: 'hana', participantId: pubId, codec: 'h264', status: 'complete' });
    expect(entry.file).toMatch(/^\d+-hana-camera\.h264$/);
    // Frames before the first key frame it got (see the first test) are dropped; none after.
    expect(entry.frames!.dropped).toBeLessThan(15);
    expect(entry.packets.lost).toBe(0);
    const stream = probeVideo(path.join(dir, entry.file));
    console.log(`recorded ${entry.file}: ${JSON.stringify(entry.frames)} in ${entry.durationMs - entry.offsetMs} ms; ffprobe ${JSON.stringify(stream)}`);
    expect(stream).toMatchObject({ codec_name: 'h264', width: 320, height: 240 });
    expect(Number(stream.nb_read_frames)).toBe(entry.frames!.written);
    // 15 fps from the file's opening (a key frame) to the publisher's leaving.
    expect(Math.abs(entry.frames!.written - (15 * recordedMs) / 1000)).toBeLessThanOrEqual(4);
    expect(Math.abs(entry.durationMs - entry.offsetMs - recordedMs)).toBeLessThan(400);
  }, 30_000);

  it.each([
    ['vp8', 'an H264-only', 'h264', 'H264', 'VP8'],
    ['h264', 'a VP8-only', 'vp8', 'VP8', 'H264'],
  ] as const)('a server with --video-codecs %s refuses %s camera with CODEC_NOT_SUPPORTED and lists no camera', async (allowed, _what, sent, sentName, allowedName) => {
    const server = await startTestServer({ topology: 'sfu', rtcBind: '127.0.0.1', videoCodecs: [allowed] });
    try {
      const pub = await cameraMember(server.wsUrl, `${sent}-refused`, 'pub', sent);
      await until(() => pub.errors.length > 0, 10_000, 'the refusal');
      expect(pub.errors[0]).toMatchObject({ type: 'error', code: 'CODEC_NOT_SUPPORTED', ref: 'offer' });
      expect(pub.errors[0]!.message).toMatch(new RegExp(`offers ${sentName}.*this room takes ${allowedName} \\(`));
      await until(() => pub.agent.server?.connected === true, 10_000, 'connected all the same (its other sections)');
      expect(pub.tracks.some((t) => t.kind === 'video')).toBe(false);
      await pub.stop();
    } finally {
      await server.close();
    }
  }, 30_000);
});
