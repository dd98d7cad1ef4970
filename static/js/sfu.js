// The one connection to the server in an SFU room (PROTOCOL.md, SFU rooms v2): we offer our
// microphone, our camera (three simulcast encodings, low → high) and, while sharing, our screen,
// each on its own section; the server offers one send-only section per track we receive, with
// `a=msid:<publisher> <track id>`. The server is the impolite side: on glare we yield.
import { PeerLink } from './peer.js';
import { annotateOffer, msidTrackOf, offerCname, simulcastSsrcs } from './sfu-sdp.js';
import { cameraConstraints, cameraEncodings } from './media-settings.js';

/** The `from` of the server's offers and candidates, and the key of its link. */
export const SERVER = 'server';

/** The camera's simulcast encodings, low → high: what the server calls `low`, `medium`, `high`. */
export const CAMERA_ENCODINGS = Object.freeze([
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
]);
const LAYER_NAMES = ['low', 'medium', 'high'];
const HD = { width: 1280, height: 720 };

/** How long after an answer we look for the camera's SSRCs (the browser picks them then), ms. */
const SSRC_WATCH_MS = 10_000;

export class SfuLink extends PeerLink {
  /**
   * @param {object} o as PeerLink's, without `remote`, plus `local` (the LocalMedia: camera and
   *   screen are read from it); `onTrack(publisherId, track, trackId)` names each forwarded track;
   *   `onOffered()` is called once our first offer went out (the server then has our connection).
   */
  constructor(o) {
    super({ ...o, remote: { id: SERVER, role: 'server' }, onTrack: (track, stream, tr) => this.addForwarded(stream, track, tr) });
    this.onForwarded = o.onTrack;
    this.local = o.local;
    /** Tracks the server forwards to us, by track id: {publisher, track, mid, kind}. */
    this.forwarded = new Map();
    this.polite = true;
    /** Our first offer went out: the server makes our connection on it, and refuses `subscribe` before. */
    this.offered = false;
    // The server is the other side of every message: no `to` (the server refuses one).
    this.sendSignal = (m) => {
      o.send(m);
      if (m.type !== 'offer' || this.offered) return;
      this.offered = true;
      o.onOffered?.();
    };
    // PeerLink manages the microphone; the camera and screen sections are ours.
    this.kinds = ['audio'];
    this.cameraTr = undefined;
    this.screenTr = undefined;
    /** The camera's SSRCs per mid as last offered (see sfu-sdp.js). */
    this.ssrcs = new Map();
    this.ssrcTimer = undefined;
  }

  start() {
    super.start();
    this.syncVideo();
  }

  async setTrack(kind, track) {
    if (kind === 'audio') return super.setTrack(kind, track);
    return this.syncVideo();
  }

  /** Puts the camera and the screen, as LocalMedia has them now, on their own sections. */
  async syncVideo() {
    if (this.closed || this.pc.signalingState === 'closed') return;
    const camera = this.local.camera;
    // Chromium sends only as many simulcast layers as the capture size allows (all three from
    // 960x540 up; at the mesh's 640x360 it drops the top one): ask the camera for 720p.
    // (The server's --max-resolution, if any, caps it.)
    if (camera && (camera.getSettings().width ?? 0) < Math.min(HD.width, this.media?.maxResolution?.width ?? Infinity)) {
      await camera.applyConstraints(cameraConstraints(this.media, HD)).catch(() => {});
      if (this.closed) return;
    }
    if (camera && !this.cameraTr) {
      this.cameraTr = this.pc.addTransceiver(camera, {
        direction: 'sendonly', streams: [this.stream], sendEncodings: cameraEncodings(CAMERA_ENCODINGS, this.media),
      });
    } else if (this.cameraTr) {
      // Camera off: nothing is sent, the track stays listed (muted, from our media state).
      await this.cameraTr.sender.replaceTrack(camera ?? null);
    }
    const screen = this.local.screenTrack;
    if (screen && !this.screenTr) {
      this.screenTr = this.pc.addTransceiver(screen, { direction: 'sendonly', streams: [new MediaStream([screen])] });
    } else if (this.screenTr) {
      // Sharing stopped: the section goes inactive and the server ends the track; a new share reuses it.
      await this.screenTr.sender.replaceTrack(screen ?? null);
      this.screenTr.direction = screen ? 'sendonly' : 'inactive';
    }
  }

  /** Our offers carry the camera's SSRCs once known, and mark the screen (sfu-sdp.js). */
  localSdp() {
    const sdp = this.pc.localDescription.sdp;
    if (this.pc.localDescription.type !== 'offer') return sdp;
    const slides = new Set(this.screenTr?.mid ? [this.screenTr.mid] : []);
    return annotateOffer(sdp, { ssrcs: this.ssrcs, slides, cname: offerCname(sdp) });
  }

  description(type, sdp) {
    super.description(type, sdp);
    if (type === 'answer') this.enqueue(async () => this.watchSsrcs(Date.now() + SSRC_WATCH_MS));
  }

  /**
   * Our offer listing the camera's simulcast SSRCs crossed one from the server (both sides
   * renegotiating at once: members joining together, a re-join after a restart) and was
   * rolled back: no negotiationneeded follows for it, and without it the server cannot route
   * our camera. Offer again.
   */
  offerRolledBack() {
    this.offer();
  }

  /**
   * After an answer, the browser has chosen its camera SSRCs: the server can route our
   * simulcast only once an offer lists them, so we offer again whenever more are known.
   */
  async watchSsrcs(until) {
    clearTimeout(this.ssrcTimer);
    const tr = this.cameraTr;
    if (this.closed || !tr?.mid || Date.now() > until) return;
    // The whole connection's report: Chromium's per-sender report leaves simulcast encodings out.
    const report = await this.pc.getStats().catch(() => new Map());
    const list = simulcastSsrcs(report.values(), tr.mid, CAMERA_ENCODINGS.map((e) => e.rid));
    if (list.length > (this.ssrcs.get(tr.mid)?.length ?? 0)) {
      this.ssrcs.set(tr.mid, list);
      this.offer();
      return; // its answer starts the watch again
    }
    this.ssrcTimer = setTimeout(() => this.watchSsrcs(until), 250);
  }

  /** `publish-layers`: the camera sends only the layers someone receives. */
  async setPublishLayers(active) {
    const sender = this.cameraTr?.sender;
    if (!sender) return;
    const params = sender.getParameters();
    if (!params.encodings || params.encodings.length < 2) return;
    const names = params.encodings.length >= 3 ? LAYER_NAMES : ['low', 'high'];
    params.encodings.forEach((e, i) => { e.active = active.includes(names[i]); });
    await sender.setParameters(params).catch((err) => { this.lastError = String(err); });
  }

  addForwarded(stream, track, tr) {
    // Only the server's per-track sections carry a stream id (the publisher); nothing else is expected.
    if (!stream) return;
    const trackId = msidTrackOf(this.pc.remoteDescription?.sdp ?? '', tr.mid) ?? track.id;
    this.forwarded.set(trackId, { publisher: stream.id, track, mid: tr.mid, kind: track.kind });
    this.onForwarded(stream.id, track, trackId);
  }

  /** The tracks forwarded to us from publisher `id`: [trackId, {track, mid, kind}]. */
  tracksOf(id) {
    return [...this.forwarded].filter(([, f]) => f.publisher === id);
  }

  /** The publisher left: its sections stay negotiated but idle until the server reuses them. */
  drop(id) {
    for (const [trackId] of this.tracksOf(id)) this.forwarded.delete(trackId);
  }

  /**
   * The test hook's figures for each publisher we receive, keyed by participant id as in a
   * mesh: `inbound.audio`, `inbound.video` (camera) and `inbound.screen`, each its own section's.
   */
  async statsByPeer() {
    const out = {};
    for (const [trackId, f] of this.forwarded) {
      const st = await this.stats(f.mid);
      const entry = out[f.publisher] ??= { ...st, inbound: {} };
      const key = f.kind === 'audio' ? 'audio' : trackId.endsWith('-screen') ? 'screen' : 'video';
      if (st.inbound[f.kind]) entry.inbound[key] = st.inbound[f.kind];
    }
    return out;
  }

  /** Connection quality of each publisher's audio since the previous call, by participant id. */
  async qualityByPeer() {
    const out = new Map();
    for (const f of this.forwarded.values()) if (f.kind === 'audio') out.set(f.publisher, await this.quality(f.mid));
    return out;
  }

  close() {
    clearTimeout(this.ssrcTimer);
    super.close();
  }
}
