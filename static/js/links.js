// The call page's media connections: one PeerLink per remote participant (mesh) or one SfuLink
// to the server (SFU room), and how their state shows on the participants' tiles and banners.
import { PeerLink } from './peer.js';
import { SERVER, SfuLink } from './sfu.js';
import { clearBanner, showBanner } from './ui.js';

export class MediaLinks {
  /**
   * @param {object} o
   * @param {object} o.s the call page's state (call.js): selfId, iceServers, participants, tiles, links, linkStates
   * @param {import('./local-media.js').LocalMedia} o.local what we send
   * @param {(msg: object) => void} o.send signaling
   * @param {() => void} o.changed a connection's state changed (the people list shows it)
   * @param {number} o.connectTimeoutMs how long a connection may take before the page says why it might not
   */
  constructor(o) {
    this.o = o;
    this.s = o.s;
  }

  /** Mesh: a connection to participant `p`; the newcomer (`initiator`) offers. */
  mesh(p, initiator) {
    const { s, local } = this.o;
    const link = new PeerLink({
      selfId: s.selfId,
      remote: p,
      iceServers: s.iceServers,
      send: this.o.send,
      tracks: { audio: local.mic, video: local.video },
      stream: local.stream,
      onTrack: (track) => this.onRemoteTrack(p.id, track),
      onState: (state) => this.onLinkState(p.id, state),
    });
    if (initiator) link.start();
    return this.watch(p.id, link);
  }

  /** SFU room: one connection to the server, which forwards every publisher's audio to us. */
  server() {
    const { s, local } = this.o;
    const link = new SfuLink({
      selfId: s.selfId,
      iceServers: s.iceServers,
      send: this.o.send,
      tracks: { audio: local.mic },
      stream: local.stream,
      onTrack: (publisher, track) => this.onRemoteTrack(publisher, track),
      onState: (state) => this.onLinkState(SERVER, state),
    });
    // We offer first, even with nothing to publish (a receive-only section starts the connection).
    link.start();
    return this.watch(SERVER, link);
  }

  /** A participant's tile was just made: in an SFU room their audio may have come already. */
  adopt(id) {
    const sfu = this.s.links.get(SERVER);
    if (!sfu) return;
    const track = sfu.trackOf(id);
    if (track) this.onRemoteTrack(id, track);
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
    showBanner(`ice-${id}`, `Could not connect to ${who}. Some networks block direct calls; a TURN relay fixes this (whoever runs this server can add one with --ice-server turn:user:password@host:3478).`, 'bad');
  }

  onRemoteTrack(id, track) {
    const tile = this.s.tiles.get(id);
    if (!tile) return;
    const old = tile.video.srcObject?.getTracks().filter((t) => t.kind !== track.kind) ?? [];
    tile.setStream(new MediaStream([...old, track]));
    track.onmute = () => tile.refreshVideo();
    track.onunmute = () => tile.refreshVideo();
  }

  onLinkState(id, state) {
    for (const pid of this.carriedBy(id)) this.showLinkState(pid, state);
    if (state === 'connected') clearBanner(`ice-${id}`);
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
