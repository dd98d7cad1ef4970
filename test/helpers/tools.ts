/** External tools for media tests: present or not (tests skip with the reason), and running them. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}

/** " (skipped: opusinfo missing, apt-get install opus-tools)" when a tool is missing. */
export function skipNote(tools: string[], pkg: string): string {
  const missing = tools.filter((t) => !has(t));
  return missing.length === 0 ? '' : ` (skipped: ${missing.join(', ')} missing; apt-get install ${pkg})`;
}

/** Runs a tool, returns stdout; throws if it exits non-zero. */
export function run(tool: string, args: string[]): string {
  return execFileSync(tool, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a tool, returns its exit status and combined output (for tools that write to stderr). */
export function runAll(tool: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(tool, args, { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

export function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'callpeer-media-'));
}

/** ffprobe's view of the first audio stream. */
export function probe(file: string): { codec_name: string; sample_rate: string; channels: number; duration?: string; duration_ts?: number } {
  const out = run('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=codec_name,sample_rate,channels,duration,duration_ts', '-of', 'json', file]);
  return (JSON.parse(out) as { streams: Array<ReturnType<typeof probe>> }).streams[0]!;
}
