/**
 * A real third-party WHIP server for tests: Janus (Debian `janus`, its VideoRoom plugin and
 * WebSocket transport) behind Meetecho's simple-whip-server (its WHIP front), both on
 * 127.0.0.1 and free ports, started by the test and stopped by PID.
 * - Janus gathers with libnice, which skips loopback interfaces: in the tests' loopback-only
 *   namespace it would find no candidate. It runs with an LD_PRELOAD shim that clears
 *   IFF_LOOPBACK in what getifaddrs() returns (native-shims.ts), which touches that process only.
 * - simple-whip-server's Debian package depends on Debian's nodejs, which conflicts with
 *   Node 20; .ci/run extracts its source from the .deb into .cache/ and installs its npm
 *   dependencies in test/third-party/simple-whip-server.
 *
 *   const janus = await startJanusWhip();
 *   await janus.createEndpoint('cam-0');   // one endpoint per publisher: POST janus.endpoint('cam-0')
 *   ...
 *   await janus.close();
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildNoLoopbackShim, ccMissing } from './native-shims.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const JANUS_PATH = process.env.CALLPEER_JANUS ?? '/usr/bin/janus';
const JANUS_LIB = '/usr/lib/x86_64-linux-gnu/janus';
/** simple-whip-server's src/: installed by apt, or extracted by .ci/run, or CALLPEER_SIMPLE_WHIP_SERVER. */
const SWS_CANDIDATES = [
  process.env.CALLPEER_SIMPLE_WHIP_SERVER,
  '/usr/share/simple-whip-server/src',
  path.join(ROOT, '.cache', 'simple-whip-server', 'usr', 'share', 'simple-whip-server', 'src'),
].filter((d): d is string => d !== undefined);
const SWS_MODULES = path.join(ROOT, 'test', 'third-party', 'simple-whip-server', 'node_modules');
/** The VideoRoom room every endpoint publishes into. */
export const JANUS_ROOM = 1234;

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function swsSource(): string | undefined {
  return SWS_CANDIDATES.find((d) => existsSync(path.join(d, 'server.js')));
}

/** Why Janus + simple-whip-server cannot run here, or undefined when they can. */
export function janusMissing(): string | undefined {
  if (!executable(JANUS_PATH)) return `janus not found at ${JANUS_PATH}: apt-get install -y janus`;
  if (!existsSync(path.join(JANUS_LIB, 'plugins', 'libjanus_videoroom.so'))) return `Janus's VideoRoom plugin not found under ${JANUS_LIB}`;
  if (!swsSource()) return 'simple-whip-server not found: .ci/run extracts it (apt-get download simple-whip-server; dpkg-deb -x … .cache/simple-whip-server)';
  if (!existsSync(path.join(SWS_MODULES, 'express'))) return 'simple-whip-server\'s npm dependencies are missing: npm ci --prefix test/third-party/simple-whip-server';
  return ccMissing();
}

export interface JanusWhip {
  /** http://127.0.0.1:<port>/whip */
  readonly base: string;
  /** The WHIP endpoint URL of endpoint `id` (after createEndpoint). */
  endpoint(id: string): string;
  /** simple-whip-server's own API: an endpoint publishing into JANUS_ROOM as `id`. */
  createEndpoint(id: string): Promise<void>;
  /** simple-whip-server's list: which endpoints have a publisher now. */
  endpoints(): Promise<{ id: string; enabled: boolean }[]>;
  /** Everything each process logged so far. */
  logs(): { janus: string; whip: string };
  close(): Promise<void>;
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function started(child: ChildProcess, log: () => string, re: RegExp, what: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (re.test(log())) finish();
      else if (child.exitCode !== null || Date.now() > deadline) finish(new Error(`${what} did not start (exit ${child.exitCode}): ${log().slice(-1500)}`));
    }, 50);
    const deadline = Date.now() + timeoutMs;
    function finish(err?: Error) {
      clearInterval(timer);
      if (err) reject(err);
      else resolve();
    }
  });
}

async function listening(child: ChildProcess, port: number, log: () => string, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => { sock.destroy(); resolve(true); });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${what} did not start (exit ${child.exitCode}): ${log().slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

export async function startJanusWhip(): Promise<JanusWhip> {
  const missing = janusMissing();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(path.join(tmpdir(), 'callpeer-janus-'));
  const shim = buildNoLoopbackShim(dir);
  const wsPort = await freeTcpPort();
  const whipPort = await freeTcpPort();
  const plugins = ['audiobridge', 'duktape', 'echotest', 'lua', 'nosip', 'recordplay', 'sip', 'streaming', 'textroom', 'videocall', 'voicemail'];
  const transports = ['http', 'mqtt', 'nanomsg', 'pfunix', 'rabbitmq'];
  writeFileSync(path.join(dir, 'janus.jcfg'), `general: {
  configs_folder = "${dir}"
  plugins_folder = "${JANUS_LIB}/plugins"
  transports_folder = "${JANUS_LIB}/transports"
  events_folder = "${JANUS_LIB}/events"
  loggers_folder = "${JANUS_LIB}/loggers"
  debug_level = 4
}
media: { rtp_port_range = "40000-60000" }
plugins: { disable = "${plugins.map((p) => `libjanus_${p}.so`).join(',')}" }
transports: { disable = "${transports.map((t) => `libjanus_${t}.so`).join(',')}" }
events: { broadcast = false }
loggers: { disable = "libjanus_jsonlog.so" }
`);
  writeFileSync(path.join(dir, 'janus.transport.websockets.jcfg'), `general: { json = "plain", ws = true, ws_port = ${wsPort}, ws_ip = "127.0.0.1", wss = false }\nadmin: { admin_ws = false, admin_wss = false }\n`);
  writeFileSync(path.join(dir, 'janus.plugin.videoroom.jcfg'), `general: { }\nroom-${JANUS_ROOM}: { description = "callpeer tests", publishers = 100, bitrate = 512000, audiocodec = "opus", videocodec = "vp8" }\n`);
  let janusLog = '';
  const janus = spawn(JANUS_PATH, ['-F', dir, '-C', path.join(dir, 'janus.jcfg')], { env: { ...process.env, LD_PRELOAD: shim }, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [janus.stdout!, janus.stderr!]) s.on('data', (d: Buffer) => { janusLog = (janusLog + d.toString()).slice(-200_000); });
  let whipLog = '';
  let whip: ChildProcess | undefined;
  try {
    // Its stdout is block-buffered into our pipe: ready is when its WebSocket port answers.
    await listening(janus, wsPort, () => janusLog, 'janus');
    // simple-whip-server reads ./config.js next to its sources: a copy of them with ours.
    const src = swsSource()!;
    const swsDir = path.join(dir, 'simple-whip-server');
    execFileSync('mkdir', ['-p', swsDir]);
    for (const f of ['server.js', 'whip-janus.js']) copyFileSync(path.join(src, f), path.join(swsDir, f));
    writeFileSync(path.join(swsDir, 'config.js'), `module.exports = ${JSON.stringify({
      janus: { address: `ws://127.0.0.1:${wsPort}` }, port: whipPort, rest: '/whip', allowTrickle: true, strictETags: true, iceServers: [],
    })};\n`);
    whip = spawn(process.execPath, ['server.js'], { cwd: swsDir, env: { ...process.env, NODE_PATH: SWS_MODULES }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [whip.stdout!, whip.stderr!]) s.on('data', (d: Buffer) => { whipLog = (whipLog + d.toString()).slice(-200_000); });
    await started(whip, () => whipLog, /Janus OK/, 'simple-whip-server');
  } catch (err) {
    if (whip) await stop(whip);
    await stop(janus);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const base = `http://127.0.0.1:${whipPort}/whip`;
  return {
    base,
    endpoint: (id) => `${base}/endpoint/${encodeURIComponent(id)}`,
    async createEndpoint(id) {
      // A label per endpoint: simple-whip-server names the Janus session after it, and one
      // label for two endpoints would make the second publisher end the first one's session.
      const res = await fetch(`${base}/create`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, room: JANUS_ROOM, label: id }) });
      if (res.status !== 200) throw new Error(`creating WHIP endpoint ${id}: ${res.status} ${await res.text()}`);
    },
    async endpoints() {
      return (await (await fetch(`${base}/endpoints`)).json()) as { id: string; enabled: boolean }[];
    },
    logs: () => ({ janus: janusLog, whip: whipLog }),
    async close() {
      await stop(whip!);
      await stop(janus);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
