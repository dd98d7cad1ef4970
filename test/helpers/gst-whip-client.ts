/**
 * Meetecho's simple-whip-client (Debian `simple-whip-client`, the binary `whip-client`:
 * GStreamer's webrtcbin) as a third-party WHIP publisher in tests: a sine tone (opusenc) and a
 * test pattern (vp8enc), started by the test and stopped by PID. Bookworm's build does not
 * run as shipped: it links libsoup2 while libnice pulls in libsoup3 through libgupnp-igd
 * (aborts at start), and libnice skips loopback interfaces (no candidate in a loopback-only
 * namespace). Both yield to shims for that one process (native-shims.ts): a stand-in
 * libgupnp-igd first in its LD_LIBRARY_PATH, and the getifaddrs LD_PRELOAD.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildGupnpIgdStub, buildNoLoopbackShim, ccMissing } from './native-shims.js';

export const WHIP_CLIENT_PATH = process.env.CALLPEER_WHIP_CLIENT ?? '/usr/bin/whip-client';

/** Why whip-client cannot run here, or undefined. */
export function gstWhipClientMissing(): string | undefined {
  try {
    accessSync(WHIP_CLIENT_PATH, constants.X_OK);
  } catch {
    return `whip-client not found at ${WHIP_CLIENT_PATH}: apt-get install -y simple-whip-client`;
  }
  return ccMissing();
}

export interface GstWhipClient {
  readonly pid: number;
  /** Everything it printed so far. */
  output(): string;
  /** Resolves when its output matches `re`; rejects with its output after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGINT (it DELETEs its session and exits), SIGKILL after 5 s. */
  stop(): Promise<number | null>;
}

export interface GstWhipOptions {
  toneHz?: number;
  /** WxH of the test pattern, default 320x240 at 15 fps. */
  size?: string;
}

export function startGstWhipClient(url: string, options: GstWhipOptions = {}): GstWhipClient {
  const missing = gstWhipClientMissing();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-whip-client-'));
  const preload = buildNoLoopbackShim(dir);
  const libs = buildGupnpIgdStub(dir);
  const [width, height] = (options.size ?? '320x240').split('x');
  const audio = `audiotestsrc is-live=true wave=sine freq=${options.toneHz ?? 440} volume=0.5 ! audioconvert ! audioresample ! queue ! opusenc ! rtpopuspay pt=100 ssrc=1 ! queue ! application/x-rtp,media=audio,encoding-name=OPUS,payload=100`;
  const video = `videotestsrc is-live=true pattern=ball ! video/x-raw,width=${width},height=${height},framerate=15/1 ! videoconvert ! queue ! vp8enc deadline=1 target-bitrate=300000 ! rtpvp8pay pt=96 ssrc=2 ! queue ! application/x-rtp,media=video,encoding-name=VP8,payload=96`;
  const child: ChildProcess = spawn(WHIP_CLIENT_PATH, ['-u', url, '-A', audio, '-V', video, '-o', '-l', '4'], {
    env: { ...process.env, LD_PRELOAD: preload, LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  for (const s of [child.stdout!, child.stderr!]) s.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-100_000); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { rmSync(dir, { recursive: true, force: true }); resolve(code); }));
  return {
    pid: child.pid!,
    output: () => out,
    async waitFor(re, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`whip-client: no ${re} (exit ${child.exitCode}):\n${out.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
}
