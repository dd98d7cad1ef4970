// window.callpeer: a read-only view of the call page for tests (and curious people), so they
// need not scrape the DOM.
import { recordTrack } from './media.js';
import { SERVER } from './sfu.js';
import { $, bannerTexts } from './ui.js';

/** Builds the hook over the call page's live state (`s`, see call.js). */
export function createHook({ s, local, meters, chat, signaling, grid, roomId, sfuView, linkStats, adapter }) {
  return Object.freeze({
    /** A JSON snapshot of the page: phase, us, each remote peer and its tile, chat, banners. */
    state() {
      return {
        phase: s.phase, id: s.selfId, room: roomId, name: s.name, maxMembers: s.maxMembers, topology: s.topology,
        local: { ...local.state }, devices: { ...local.devices }, error: s.error ?? null,
        tracks: local.stream.getTracks().map((t) => ({ kind: t.kind, label: t.label, enabled: t.enabled, readyState: t.readyState })),
        speaker: s.speaker,
        signaling: signaling.state,
        recording: !$('recording').hidden,
        spotlight: grid.classList.contains('spotlit') ? grid.querySelector('.tile.spotlight')?.dataset.peer ?? null : null,
        banners: bannerTexts(),
        notice: $('notice').hidden ? null : { title: $('notice-title').textContent, text: $('notice-text').textContent },
        toast: document.querySelector('.toast:not([hidden])')?.textContent ?? '',
        listenOnly: local.listenOnly,
        self: s.tiles.get('self')?.info() ?? null,
        peers: [...s.participants.values()].map((p) => ({
          id: p.id, name: p.name, role: p.role, audio: p.audio, video: p.video, screen: p.screen,
          identity: p.identity ?? null, guest: Boolean(p.guest), canPublish: p.canPublish !== false,
          connection: s.linkStates.get(p.id) ?? 'new',
          negotiationError: (s.links.get(p.id) ?? s.links.get(SERVER))?.lastError ?? '',
          level: meters.level(p.id),
          tile: s.tiles.get(p.id)?.info() ?? null,
        })),
        chat: chat.lines.map((l) => ({ ...l })),
        /** SFU rooms: the room's tracks, the layers asked for and forwarded, what we subscribe to. */
        sfu: sfuView.snapshot(),
        /** Mesh rooms: the last `stats` report sent about each participant. */
        statsSent: Object.fromEntries([...linkStats.sent].map(([id, m]) => [id, { ...m }])),
        /** Mesh rooms: how far each connection's video sender is stepped down, and why (adapt.js). */
        adapt: adapter.snapshot(),
      };
    },
    /** SFU rooms: asks for `quality` of video track `trackId` whatever its tile's size ('' = back to the size rule). */
    setLayer(trackId, quality) {
      sfuView.setOverride(trackId, quality);
    },
    /**
     * `ms` of what the page hears from peer `id` ('self' = our microphone), as
     * {sampleRate, samples}: for tests that check a tone's frequency.
     */
    async audio(id, ms = 500) {
      const track = id === 'self' ? local.mic : s.tiles.get(id)?.video.srcObject?.getAudioTracks()[0];
      if (!track) throw new Error(`no audio from ${id}`);
      return recordTrack(track, ms);
    },
    /**
     * getStats() by peer id: inbound/outbound RTP per kind, round trip. In an SFU room each
     * publisher's inbound audio is its own; outbound and round trip are the server connection's.
     */
    async stats() {
      const out = {};
      for (const link of s.links.values()) Object.assign(out, await link.statsByPeer());
      return out;
    },
  });
}
