import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Manifest, ManifestFile } from '../../../src/bots/recorder/manifest.js';
import { repairRecording } from '../../../src/bots/recorder/repair.js';
import { ivfFrameHeader, ivfHeader, IVF_RATE, parseIvf } from '../../../src/media/ivf.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'callpeer-repair-'));

function file(name: string, codec: ManifestFile['codec'], status: ManifestFile['status'], durationMs: number): ManifestFile {
  return { file: name, kind: codec === 'opus' ? 'audio' : 'video', codec, participantId: 'p1', name: 'Ada', mid: '1', offsetMs: 0, durationMs, packets: { received: 0, lost: 0, late: 0, duplicates: 0 }, status };
}

function manifest(files: ManifestFile[], status: Manifest['status'] = 'recording'): Manifest {
  return {
    version: 1, room: 'r', server: 'ws://x', startedAt: '2026-12-04T10:00:00.000Z', durationMs: 1000, status, sampleRate: 48000,
    connections: [{ id: 'c1', joinedAt: '2026-12-04T10:00:00.000Z', joinedMs: 0 }],
    participants: [{ id: 'p1', name: 'Ada', role: 'participant', joinedAt: '2026-12-04T10:00:00.100Z', joinedMs: 100 }],
    files,
  };
}

describe('repairRecording', () => {
  it('cuts an IVF file after its last whole frame, sets its frame count and duration, and completes the manifest', () => {
    const dir = tmp();
    // Three frames 1 s apart, and half of a fourth: what a kill mid-write leaves.
    const frames = [0, 1, 2].map((s) => Buffer.concat([ivfFrameHeader(100, s * IVF_RATE), Buffer.alloc(100, s + 1)]));
    const whole = Buffer.concat([ivfHeader({ width: 320, height: 180, rate: IVF_RATE, scale: 1, frames: 0 }), ...frames]);
    writeFileSync(path.join(dir, 'cam.ivf'), Buffer.concat([whole, ivfFrameHeader(100, 3 * IVF_RATE), Buffer.alloc(40, 9)]));
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest([file('cam.ivf', 'vp8', 'recording', 1000)])));
    const report = repairRecording(dir, new Date('2026-12-04T11:00:00.000Z'));
    expect(report).toEqual({ dir, alreadyComplete: false, files: [{ file: 'cam.ivf', outcome: 'repaired', durationMs: 2000, cutBytes: 52 }] });
    const ivf = parseIvf(readFileSync(path.join(dir, 'cam.ivf')));
    expect(ivf.frames.map((f) => f.pts)).toEqual([0, IVF_RATE, 2 * IVF_RATE]);
    expect(readFileSync(path.join(dir, 'cam.ivf')).readUInt32LE(24)).toBe(3);
    const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    expect(m).toMatchObject({
      status: 'complete', durationMs: 2000, endedAt: '2026-12-04T10:00:02.000Z', repairedAt: '2026-12-04T11:00:00.000Z',
      files: [{ status: 'complete', durationMs: 2000 }],
      participants: [{ leftMs: 2000, leftAt: '2026-12-04T10:00:02.000Z' }],
      connections: [{ lostMs: 2000 }],
    });
    // Twice: nothing to do, nothing changed.
    expect(repairRecording(dir).alreadyComplete).toBe(true);
    expect(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'))).toEqual(m);
  });

  it('leaves files that were finished alone, and says plainly when the directory holds no recording', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest([file('a.opus', 'opus', 'complete', 1500)])));
    expect(repairRecording(dir).files).toEqual([{ file: 'a.opus', outcome: 'complete', durationMs: 1500, cutBytes: 0 }]);
    expect(() => repairRecording(tmp())).toThrow(expect.objectContaining({ code: 'IO_ERROR', message: expect.stringContaining('no recording to repair in') }));
    const junk = tmp();
    writeFileSync(path.join(junk, 'manifest.json'), '{"version": 2}');
    expect(() => repairRecording(junk)).toThrow(expect.objectContaining({ code: 'PARSE_ERROR' }));
  });
});
