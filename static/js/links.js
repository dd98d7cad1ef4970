// The call page's media connections: one PeerLink per remote participant (mesh) or one SfuLink
// to the server (SFU room), and how their state shows on the participants' tiles and banners.
import { PeerLink } from './peer.js';
import { hasTurnServer, iceTransportPolicy, relayOnly, relayProblemText, RELAY_REFUSED_TEXT } from './relay.js';
import { SERVER, SfuLink } from './sfu.js';
import { clearBanner, showBanner } from './ui.js';

/** The banner about relaying (`?relay=1`): one for the page, since every link uses the same credentials. */
const RELAY_BANNER = 'relay';

/** `camera` or `screen`, from a track id the server made (`<publisher>-<source>`). */
export function sourceOf(trackId) {
  return trackId.endsWith('-screen') ? 'screen' : 'camera';
}

export class MediaLinks {
  /**
   * @param {object} o
   * @param {object} o.s the call page's state (call.js): selfId, iceServers, participants, tiles, links, linkStates
   * @param {import('./local-media.js').LocalMedia} o.local what we send
   * @param {(msg: object) => void} o.send signaling
   * @param {() => void} o.changed a connection's state changed (the people list shows it)
   * @param {number} o.connectTimeoutMs how long a connection may take before the page says why it might not
   * @param {boolean} [o.relayOnly] connect through a TURN relay only (default: `relay=1` in the page's address)
   * @param {() => void} [o.serverOffered] SFU rooms: our first offer went to the server
   */
  constructor(o) {
    this.o = o;
    this.s = o.s;
    this.relayOnly = o.relayOnly ?? relayOnly(location.search);
  }

  /** What every link shares: ICE servers from `joined`, the transport policy, what a refused relay does. */
  linkOptions(id) {
    return {
      selfId: this.s.selfId,
      iceServers: this.s.iceServers,
      media: this.s.media,
      iceTransportPolicy: iceTransportPolicy(this.relayOnly),
      onRelayRefused: () => this.onRelayRefused(id),
      send: this.o.send,
    };
  }

  /** Mesh: a connection to participant `p`; the newcomer (`initiator`) offers. */
  mesh(p, initiator) {
    const { s, local } = this.o;
    const link = new PeerLink({
      ...this.linkOptions(p.id),
      remote: p,
      tracks: { audio: local.mic, video: local.video },
      stream: local.stream,
      onTrack: (track) => this.onRemoteTrack(p.id, track),
      onState: (state) => this.onLinkState(p.id, state),
    });
    if (initiator) link.start();
    return this.watch(p.id, link);
  }

  /** SFU room: one connection to the server, which forwards every publisher's tracks to us. */
  server() {
    const { local } = this.o;
    const link = new SfuLink({
      ...this.linkOptions(SERVER),
      tracks: { audio: local.mic },
      stream: local.stream,
      local,
      onTrack: (publisher, track, trackId) => this.onForwardedTrack(publisher, track, trackId),
      onState: (state) => this.onLinkState(SERVER, state),
      onOffered: () => this.o.serverOffered?.(),
    });
    // We offer first, even with nothing to publish (a receive-only section starts the connection).
    link.start();
    return this.watch(SERVER, link);
  }

  /** A participant's tile was just made: in an SFU room their tracks may have come already. */
  adopt(id) {
    const sfu = this.s.links.get(SERVER);
    if (!sfu) return;
    for (const [trackId, f] of sfu.tracksOf(id)) this.onForwardedTrack(id, f.track, trackId);
    this.showLinkState(id, sfu.pc.connectionState);
  }

  /** The participant left: their connection (mesh) or forwarded audio (SFU) goes. */
  drop(id) {
    const s = this.s;
    s.links.get(id)?.close();
    s.links.delete(id);
    s.links.get(SERVER)?.drop(id);
    s.linkStates.delete(id);
    clearBanner(`ice-${id}`);
  }

  /** Closes the server connection (mesh links go with their participants, see drop). */
  closeServer() {
    this.s.links.get(SERVER)?.close();
    this.s.links.delete(SERVER);
    clearBanner(`ice-${SERVER}`);
    // Called on every (re-)join and hang-up: a new join brings new relay credentials.
    clearBanner(RELAY_BANNER);
  }

  /** Measures every connected link and shows a weak or poor one on its participants' tiles. */
  async tickQuality() {
    for (const link of this.s.links.values()) {
      if (link.pc.connectionState !== 'connected') continue;
      const qs = await link.qualityByPeer().catch(() => new Map());
      for (const [id, q] of qs) this.s.tiles.get(id)?.setQuality(q);
    }
  }

  watch(id, link) {
    this.s.links.set(id, link);
    if (this.relayOnly && !hasTurnServer(this.s.iceServers)) showBanner(RELAY_BANNER, relayProblemText({ hasTurn: false }), 'bad');
    // With every path blocked Chromium may sit in "new"/"checking" for good instead of failing.
    setTimeout(() => {
      if (this.s.links.get(id) === link && link.pc.connectionState !== 'connected') this.showIceProblem(id);
    }, this.o.connectTimeoutMs);
    return link;
  }

  /** The participants whose media comes over link `id`: everyone in an SFU room. */
  carriedBy(id) {
    return id === SERVER ? [...this.s.participants.keys()] : [id];
  }

  showIceProblem(id) {
    for (const pid of this.carriedBy(id)) this.s.tiles.get(pid)?.setStatus('Cannot connect', true);
    const who = id === SERVER ? 'the server for audio' : this.s.participants.get(id)?.name ?? 'a participant';
    const refused = this.s.links.get(id)?.relayRefused === true;
    if (this.relayOnly) {
      // Relaying is all this page may do: whatever went wrong went wrong at the relay.
      showBanner(RELAY_BANNER, relayProblemText({ refused, hasTurn: hasTurnServer(this.s.iceServers), who }), 'bad');
      return;
    }
    const relay = refused ? ` The relay server also refused this call's credentials (they may have expired): leave and join again to get new ones.` : '';
    showBanner(`ice-${id}`, `Could not connect to ${who}. Some networks block direct calls; a TURN relay fixes this (whoever runs this server can add one with serve --turn-url).${relay}`, 'bad');
  }

  /**
   * A TURN server refused our credentials on link `id`. Relaying only, nothing else can carry
   * the call: say so now. Otherwise a direct path may still work; a failure will mention it.
   */
  onRelayRefused(id) {
    if (!this.relayOnly) return;
    for (const pid of this.carriedBy(id)) this.s.tiles.get(pid)?.setStatus('Cannot connect', true);
    showBanner(RELAY_BANNER, RELAY_REFUSED_TEXT, 'bad');
  }

  onRemoteTrack(id, track) {
    const tile = this.s.tiles.get(id);
    if (!tile) return;
    const old = tile.video.srcObject?.getTracks().filter((t) => t.kind !== track.kind) ?? [];
    tile.setStream(new MediaStream([...old, track]));
    track.onmute = () => tile.refreshVideo();
    track.onunmute = () => tile.refreshVideo();
  }

  /** SFU rooms: audio joins the tile's stream; a camera and a screen each have their place on the tile. */
  onForwardedTrack(id, track, trackId) {
    if (track.kind === 'audio') return this.onRemoteTrack(id, track);
    const tile = this.s.tiles.get(id);
    if (!tile) return;
    tile.setVideo(sourceOf(trackId), track);
    track.onmute = () => tile.refreshVideo();
    track.onunmute = () => tile.refreshVideo();
  }

  /** SFU rooms: the server's track list changed; tracks no longer in it leave their tiles. */
  pruneTracks(listed) {
    const sfu = this.s.links.get(SERVER);
    if (!sfu) return;
    for (const [trackId, f] of [...sfu.forwarded]) {
      if (listed.has(trackId) || f.kind !== 'video') continue;
      sfu.forwarded.delete(trackId);
      this.s.tiles.get(f.publisher)?.setVideo(sourceOf(trackId), undefined, f.track);
    }
  }

  onLinkState(id, state) {
    for (const pid of this.carriedBy(id)) this.showLinkState(pid, state);
    if (state === 'connected') {
      clearBanner(`ice-${id}`);
      clearBanner(RELAY_BANNER);
    }
    else if (state === 'failed') this.showIceProblem(id);
    this.o.changed();
  }

  /** A participant's connection state, on their tile (a failure is shown by showIceProblem). */
  showLinkState(id, state) {
    this.s.linkStates.set(id, state);
    const tile = this.s.tiles.get(id);
    if (state === 'connected') tile?.setStatus('');
    else if (state === 'disconnected') tile?.setStatus('Connection unstable…');
    else if (state === 'connecting' || state === 'new') tile?.setStatus('Connecting…');
  }
}
