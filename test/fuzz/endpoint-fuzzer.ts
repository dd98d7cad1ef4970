/**
 * Drives one WebSocket endpoint of a running server with generated frames from several
 * connections at once, and checks everything the server says back against the protocol:
 * each text frame must parse with the endpoint's strict client-side parser, an error must
 * carry a wire code other than INTERNAL, and a close must use one of the endpoint's close
 * codes. A connection the server closes is opened again until every frame is sent.
 */
import fc from 'fast-check';
import WebSocket, { type RawData } from 'ws';

export interface Frame { data: string | Buffer; binary: boolean }

export interface FuzzTarget {
  /** The URL a worker connects to (a query string of its own, a room shared with its partner). */
  url(worker: number): string;
  /**
   * What a worker does once connected, before its hostile frames (join a room, start a
   * stream). Returns substitutions for the frames' text (a sample's placeholder peer id for
   * the partner's real one), updated as the session learns them.
   */
  setup?(ws: WebSocket, worker: number): Promise<Map<string, string>>;
  frames: fc.Arbitrary<Frame>;
  /** Throws when a text frame from the server breaks the protocol. */
  checkText(text: string): void;
  /** Whether the server may send binary frames here (PCM audio). */
  binaryAllowed: boolean;
  closeCodes: readonly number[];
}

export interface FuzzReport {
  sent: number;
  connections: number;
  /** Server frames by `type`/`event` (errors by code: `error:INVALID_MESSAGE`). */
  answers: Record<string, number>;
  closes: Record<number, number>;
  violations: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for the server's next text frame whose `type` is one of `types` (others are skipped). */
export function nextMessage(ws: WebSocket, types: readonly string[], timeoutMs = 5000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ws.off('message', on); reject(new Error(`no ${types.join('/')} within ${timeoutMs} ms`)); }, timeoutMs);
    const on = (data: RawData, binary: boolean) => {
      if (binary) return;
      const m = JSON.parse(data.toString()) as Record<string, unknown>;
      if (!types.includes(String(m.type ?? m.event))) return;
      clearTimeout(timer);
      ws.off('message', on);
      resolve(m);
    };
    ws.on('message', on);
  });
}

function substitute(frame: Frame, subs: Map<string, string>): Frame {
  if (frame.binary || typeof frame.data !== 'string' || subs.size === 0) return frame;
  let text = frame.data;
  for (const [from, to] of subs) text = text.split(from).join(to);
  return { data: text, binary: false };
}

/**
 * Sends `total` frames (drawn with `seed`) through `workers` connections, each paced at
 * `gapMs` between frames so that the rate limit does not answer every frame before the parser
 * sees it. `first` frames go out before the generated ones (limits to probe, say).
 */
export async function fuzzEndpoint(target: FuzzTarget, opts: { total: number; workers: number; gapMs: number; seed: number; first?: Frame[] }): Promise<FuzzReport> {
  const report: FuzzReport = { sent: 0, connections: 0, answers: {}, closes: {}, violations: [] };
  const violation = (what: string) => { if (report.violations.length < 20) report.violations.push(what); };
  const perWorker = Math.ceil(opts.total / opts.workers);

  async function worker(w: number): Promise<void> {
    const frames = [...(w === 0 ? opts.first ?? [] : []), ...fc.sample(target.frames, { numRuns: perWorker, seed: opts.seed + w })];
    let next = 0;
    while (next < frames.length) {
      const ws = new WebSocket(target.url(w));
      report.connections++;
      const closed = new Promise<number>((resolve) => {
        ws.on('close', (code) => resolve(code));
        ws.on('error', () => { /* the close that follows is what counts */ });
      });
      ws.on('unexpected-response', (_req, res) => violation(`upgrade answered HTTP ${res.statusCode}`));
      ws.on('message', (data, binary) => {
        if (binary) {
          if (!target.binaryAllowed) violation('a binary frame from the server');
          return;
        }
        const text = data.toString();
        try {
          target.checkText(text);
          const m = JSON.parse(text) as { type?: string; event?: string; code?: string };
          const kind = m.type ?? m.event ?? '?';
          const key = kind === 'error' ? `error:${m.code}` : kind;
          report.answers[key] = (report.answers[key] ?? 0) + 1;
        } catch (err) {
          violation(`${(err as Error).message}: ${text.slice(0, 200)}`);
        }
      });
      const opened = await new Promise<boolean>((resolve) => {
        ws.once('open', () => resolve(true));
        void closed.then(() => resolve(false));
      });
      let subs = new Map<string, string>();
      if (opened && target.setup) {
        try {
          subs = await target.setup(ws, w);
        } catch (err) {
          violation(`setup: ${(err as Error).message}`);
        }
      }
      while (ws.readyState === WebSocket.OPEN && next < frames.length) {
        const f = substitute(frames[next++]!, subs);
        ws.send(f.data, { binary: f.binary });
        report.sent++;
        await sleep(opts.gapMs);
      }
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      const code = await Promise.race([closed, sleep(5000).then(() => -1)]);
      if (code === -1) { violation('the server did not finish a close within 5 s'); ws.terminate(); }
      report.closes[code] = (report.closes[code] ?? 0) + 1;
      if (code !== -1 && code !== 1000 && code !== 1005 && !target.closeCodes.includes(code)) violation(`closed with ${code}`);
    }
  }

  await Promise.all(Array.from({ length: opts.workers }, (_, w) => worker(w)));
  return report;
}
