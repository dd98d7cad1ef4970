// The server's media settings (`joined.room.media`, set by `serve --max-video-bitrate`,
// `--max-resolution`, `--max-framerate`, `--audio-bitrate`, `--simulcast`) applied to what
// this page sends. Pure functions: the links call them on their senders.

/**
 * The camera's encodings in an SFU room: the simulcast layers, or the top layer alone when the
 * server turned simulcast off. The ceiling is the track's, all its layers together (as the
 * server's b=AS says): over it, every layer's bitrate is scaled down alike.
 * @param {readonly {rid: string, scaleResolutionDownBy: number, maxBitrate: number}[]} layers low to high
 * @param {object | undefined} media
 */
export function cameraEncodings(layers, media) {
  const chosen = media?.simulcast === false ? [{ scaleResolutionDownBy: 1, maxBitrate: layers.at(-1).maxBitrate }] : layers.map((e) => ({ ...e }));
  const total = chosen.reduce((sum, e) => sum + e.maxBitrate, 0);
  const kbps = media?.maxVideoBitrateKbps;
  if (kbps !== undefined && total > kbps * 1000) for (const e of chosen) e.maxBitrate = Math.floor((e.maxBitrate * kbps * 1000) / total);
  if (media?.maxFramerate !== undefined) for (const e of chosen) e.maxFramerate = media.maxFramerate;
  return chosen;
}

/**
 * Puts one encoding under the ceilings for its kind; returns whether it changed. For a track
 * with one encoding (a mesh sender, the microphone); simulcast layers are set by cameraEncodings.
 * @param {RTCRtpEncodingParameters} e
 * @param {'audio' | 'video'} kind
 * @param {object | undefined} media
 */
export function capEncoding(e, kind, media) {
  if (!media) return false;
  let changed = false;
  const kbps = kind === 'video' ? media.maxVideoBitrateKbps : media.audioBitrateKbps;
  if (kbps !== undefined && !(e.maxBitrate <= kbps * 1000)) {
    e.maxBitrate = kbps * 1000;
    changed = true;
  }
  if (kind === 'video' && media.maxFramerate !== undefined && !(e.maxFramerate <= media.maxFramerate)) {
    e.maxFramerate = media.maxFramerate;
    changed = true;
  }
  return changed;
}

/**
 * Camera constraints under the server's largest picture and frame rate, asking for `ideal`
 * (or less), or undefined when the server sets neither.
 * @param {object | undefined} media
 * @param {{width: number, height: number}} [ideal]
 */
export function cameraConstraints(media, ideal) {
  const r = media?.maxResolution;
  const fps = media?.maxFramerate;
  if (!r && fps === undefined && !ideal) return undefined;
  const c = {};
  if (ideal || r) {
    c.width = { ...(ideal && { ideal: Math.min(ideal.width, r?.width ?? Infinity) }), ...(r && { max: r.width }) };
    c.height = { ...(ideal && { ideal: Math.min(ideal.height, r?.height ?? Infinity) }), ...(r && { max: r.height }) };
  }
  if (fps !== undefined) c.frameRate = { max: fps };
  return c;
}
