/**
 * The HTTP side of a WHIP (RFC 9725) or WHEP client: one non-trickle offer POSTed to the
 * endpoint, the `201` answer applied, our candidates PATCHed after it (RFC 8840), `DELETE` to
 * end. It speaks only the standard, so it works against any WHIP/WHEP server, callpeer's among
 * them. WhipClient and WhepClient add the media sections they offer.
 */
import { CallpeerError } from '../errors.js';
import { SDP_CONTENT_TYPE, TRICKLE_CONTENT_TYPE } from '../protocol/whip.js';
import { Peer } from '../rtc/peer.js';
import type { PeerOptions, PeerSignal } from '../rtc/peer-types.js';
import { withDeadline } from '../time/deadline.js';

export interface HttpSessionOptions {
  /** The endpoint, e.g. http://host:8080/whip/standup?name=OBS */
  url: string;
  /** Sent as `Authorization: Bearer`. */
  token?: string;
  /** More request headers for every request (another server's auth scheme, an API key). */
  headers?: Record<string, string>;
  /** Options of the WebRTC connection (tests: bindAddress 127.0.0.1). */
  peer?: Omit<PeerOptions, 'trickle'>;
  /** The answer (and the connection) must come within this long, ms. Default 10000. */
  timeoutMs?: number;
}

export interface HttpSessionInfo {
  /** The session's URL (`Location`), absolute. */
  resource: string;
  etag: string | undefined;
  /** `Link: <...>; rel="ice-server"` values the server gave. */
  iceServers: string[];
  /** The server's SDP answer. */
  answer: string;
}

/** When each step of the setup finished, ms after start() was called. */
export interface SetupTimes {
  /** Our offer was ready (ICE gathering complete). */
  offer: number;
  /** The server's 201 arrived (HTTP round trip and its answer). */
  answer: number;
  /** ICE connected (a candidate pair answered). */
  ice: number;
  /** DTLS up too: media can flow. */
  connected: number;
}

export abstract class HttpSession {
  readonly peer: Peer;
  /** How long each step took (set by start()). */
  setup: SetupTimes | undefined;
  private session: HttpSessionInfo | undefined;
  /** The offer, with every candidate (non-trickle: the POST carries them all). */
  private readonly offer: Promise<string>;

  /** `label`: WHIP or WHEP, for messages. */
  constructor(protected readonly options: HttpSessionOptions, private readonly label: string) {
    this.peer = new Peer({ ...options.peer, trickle: false, polite: false, timeIce: true });
    this.offer = new Promise<string>((resolve) => {
      const onSignal = (s: PeerSignal) => {
        if (s.kind !== 'description') return;
        this.peer.off('signal', onSignal);
        resolve(s.sdp);
      };
      this.peer.on('signal', onSignal);
    });
  }

  /** POSTs the offer, applies the answer, waits until connected. Rejects with a CallpeerError saying what the server said. */
  async start(): Promise<HttpSessionInfo> {
    const began = performance.now();
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    const offer = await withDeadline(this.offer, timeoutMs, () => new CallpeerError('TIMEOUT', `no local offer after ${timeoutMs} ms (ICE gathering did not complete)`));
    const offered = performance.now() - began;
    // The offer goes without our candidates, and they follow in a PATCH once the answer is
    // applied: a server that had them could finish ICE and start DTLS before we store its
    // fingerprint, and libdatachannel then refuses its certificate (the race Peer's
    // flushLocalCandidates avoids; seen here as 1 in ~10 sessions never connecting). A server
    // that takes no PATCH still connects: our checks reach its candidates from the answer.
    const candidates = offer.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
    const res = await fetch(this.options.url, {
      method: 'POST',
      headers: { 'content-type': SDP_CONTENT_TYPE, ...this.authorization() },
      body: offer.replace(/^a=(candidate:.*|end-of-candidates)\r?\n/gm, ''),
      signal: AbortSignal.timeout(timeoutMs),
    }).catch((err: unknown) => {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
      throw new CallpeerError('CONNECTION_FAILED', `cannot reach ${this.options.url}: ${cause}`, { cause: err, hint: `check the ${this.label} URL and that its server runs` });
    });
    const body = await res.text();
    if (res.status !== 201) throw this.refusal(res.status, body);
    const location = res.headers.get('location');
    if (!location) throw new CallpeerError('INVALID_MESSAGE', `the ${this.label} endpoint answered 201 without a Location`);
    const answered = performance.now() - began;
    this.session = {
      resource: new URL(location, this.options.url).toString(),
      etag: res.headers.get('etag') ?? undefined,
      iceServers: (res.headers.get('link') ?? '').split(/,\s*(?=<)/).filter((l) => /rel="ice-server"/.test(l)),
      answer: body,
    };
    this.peer.handleRemoteDescription(body, 'answer');
    await this.trickle(offer, candidates, timeoutMs);
    await new Promise<void>((resolve, reject) => {
      if (this.peer.connected) return resolve();
      const timer = setTimeout(() => reject(new CallpeerError('CONNECTION_FAILED', `not connected ${timeoutMs} ms after the answer`)), timeoutMs);
      this.peer.once('connected', () => { clearTimeout(timer); resolve(); });
      this.peer.once('closed', (reason) => { clearTimeout(timer); reject(new CallpeerError('CONNECTION_FAILED', `the connection closed (${reason})`)); });
    });
    const connected = performance.now() - began;
    // The ICE and connection callbacks come from different native threads: when ICE's arrives
    // second, the connection's moment stands for both.
    const ice = this.peer.iceConnectedAt;
    this.setup = { offer: offered, answer: answered, ice: ice === undefined ? connected : Math.min(connected, ice - began), connected };
    return this.session;
  }

  /** PATCHes our candidates (an RFC 8840 fragment under the first section's mid); a refusal is ignored: ICE works from the server's side too. */
  private async trickle(offer: string, candidates: string[], timeoutMs: number): Promise<void> {
    if (!this.session || candidates.length === 0) return;
    const line = (name: string) => new RegExp(`^a=${name}:.*$`, 'm').exec(offer)?.[0];
    const fragment = [line('ice-ufrag'), line('ice-pwd'), line('mid'), ...candidates, 'a=end-of-candidates'].filter((l) => l !== undefined).join('\r\n') + '\r\n';
    try {
      await fetch(this.session.resource, {
        method: 'PATCH',
        headers: { 'content-type': TRICKLE_CONTENT_TYPE, 'if-match': this.session.etag ?? '*', ...this.authorization() },
        body: fragment,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      // Not needed to connect (see start()).
    }
  }

  /** The caller's headers, and its bearer token. */
  private authorization(): Record<string, string> {
    return { ...this.options.headers, ...(this.options.token !== undefined && { authorization: `Bearer ${this.options.token}` }) };
  }

  /** Resolves when the media connection closes (ICE failed, the server went away). */
  closed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.peer.closed) resolve();
      else this.peer.once('closed', () => resolve());
    });
  }

  /** Ends the session: DELETE on its resource (errors ignored: the server may be gone), then the connection closes. Resolves with the DELETE's status. */
  async stop(): Promise<number | undefined> {
    let status: number | undefined;
    if (this.session) {
      try {
        status = (await fetch(this.session.resource, {
          method: 'DELETE',
          headers: this.authorization(),
          signal: AbortSignal.timeout(5000),
        })).status;
      } catch {
        status = undefined;
      }
      this.session = undefined;
    }
    this.peer.close();
    return status;
  }

  /** A non-201 answer as a CallpeerError: callpeer's JSON error body, or the status and text of another server. */
  private refusal(status: number, body: string): CallpeerError {
    const hint = 'the refusal says what to change: the URL (its room), the token, or the server\'s room settings';
    try {
      const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
      if (parsed.error?.message) return new CallpeerError('CONNECTION_FAILED', `${this.label} endpoint refused (${status} ${parsed.error.code ?? ''}): ${parsed.error.message}`, { hint });
    } catch { /* not ours */ }
    return new CallpeerError('CONNECTION_FAILED', `${this.label} endpoint refused (${status}): ${body.slice(0, 200) || 'no body'}`, { hint });
  }
}
