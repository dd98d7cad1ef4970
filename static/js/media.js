// Local devices (with graceful fallbacks), screen capture, and audio level meters.

const VIDEO = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } };

/**
 * Camera and microphone, falling back to whatever is allowed and present.
 * Resolves {stream, audio, video, note}: `note` is a plain sentence when something is missing.
 * `audioConstraints` lets tests turn processing off (?raw=1) so a test tone keeps its level.
 */
export async function openDevices({ audioConstraints = true } = {}) {
  const stream = new MediaStream();
  if (!navigator.mediaDevices?.getUserMedia) {
    return { stream, audio: false, video: false, note: 'This browser cannot use a camera or microphone here (the page needs https). You can still see and hear the others.' };
  }
  const attempts = [
    { audio: audioConstraints, video: VIDEO },
    { audio: audioConstraints, video: false },
    { audio: false, video: VIDEO },
  ];
  let lastErr;
  for (const c of attempts) {
    try {
      const s = await navigator.mediaDevices.getUserMedia(c);
      for (const t of s.getTracks()) stream.addTrack(t);
      break;
    } catch (err) {
      lastErr = err;
    }
  }
  const audio = stream.getAudioTracks().length > 0;
  const video = stream.getVideoTracks().length > 0;
  return { stream, audio, video, note: describeMissing(audio, video, lastErr) };
}

function describeMissing(audio, video, err) {
  if (audio && video) return '';
  const denied = err?.name === 'NotAllowedError' || err?.name === 'SecurityError';
  const why = denied ? 'was blocked' : 'was not found';
  if (audio) return `Your camera ${why}, so you joined with your microphone only.`;
  if (video) return `Your microphone ${why}, so the others cannot hear you.`;
  return denied
    ? 'Camera and microphone are blocked for this site. You can still see and hear the others; allow them in the address bar and reload to take part.'
    : 'No camera or microphone was found. You can still see and hear the others.';
}

/** A camera (the default, or `deviceId`); undefined if refused or missing. */
export async function openCamera(deviceId = '') {
  try {
    const s = await navigator.mediaDevices.getUserMedia({ video: deviceId ? { ...VIDEO, deviceId: { exact: deviceId } } : VIDEO });
    return s.getVideoTracks()[0];
  } catch {
    return undefined;
  }
}

/** A microphone by `deviceId`, with the page's processing settings; undefined if refused. */
export async function openMicrophone(constraints, deviceId) {
  try {
    const base = typeof constraints === 'object' ? constraints : {};
    const s = await navigator.mediaDevices.getUserMedia({ audio: { ...base, deviceId: { exact: deviceId } } });
    return s.getAudioTracks()[0];
  } catch {
    return undefined;
  }
}

/** Microphones, cameras and speakers the page may use, each as {deviceId, label}. */
export async function listDevices() {
  const out = { audioinput: [], videoinput: [], audiooutput: [] };
  const all = await navigator.mediaDevices?.enumerateDevices?.().catch(() => []) ?? [];
  for (const d of all) {
    const list = out[d.kind];
    if (!list || !d.deviceId) continue;
    list.push({ deviceId: d.deviceId, label: d.label || `${d.kind === 'audioinput' ? 'Microphone' : d.kind === 'videoinput' ? 'Camera' : 'Speaker'} ${list.length + 1}` });
  }
  return out;
}

/** A screen, window or tab to share; undefined when the user cancels or it is not possible. */
export async function openScreen() {
  if (!navigator.mediaDevices?.getDisplayMedia) throw new Error('Screen sharing is not available in this browser.');
  try {
    const s = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
    const track = s.getVideoTracks()[0];
    // Text on a screen must stay sharp: prefer keeping resolution over frame rate.
    if (track && 'contentHint' in track) track.contentHint = 'detail';
    return track;
  } catch (err) {
    if (err?.name === 'NotAllowedError' || err?.name === 'AbortError') return undefined;
    throw err;
  }
}

let sharedContext;
function audioContext() {
  sharedContext ??= new AudioContext();
  if (sharedContext.state === 'suspended') sharedContext.resume().catch(() => {});
  return sharedContext;
}

/** Browsers start audio contexts suspended until a click; call this from one. */
export function resumeAudio() {
  if (sharedContext?.state === 'suspended') sharedContext.resume().catch(() => {});
}

/**
 * Level of an audio track, 0..1 (RMS scaled so speech reads ~0.3-0.8). A remote track must
 * also play through a media element for Chromium to feed it to Web Audio.
 */
export function levelMeter(track) {
  const ctx = audioContext();
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  return {
    track,
    level() {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      return Math.min(1, Math.sqrt(sum / buf.length) * 4);
    },
    stop() {
      source.disconnect();
    },
  };
}

/** One level meter per tile, rebuilt when the tile's audio track changes. */
export class LevelMeters {
  constructor() {
    this.meters = new Map();
  }

  /** Measures `track` (or nothing) for `id`; returns its level 0..1. */
  measure(id, track) {
    let meter = this.meters.get(id);
    if (meter && meter.track !== track) {
      this.drop(id);
      meter = undefined;
    }
    if (!meter && track) {
      try {
        meter = levelMeter(track);
        this.meters.set(id, meter);
      } catch {
        return 0; // no audio context available (very old browser): no meter, no harm
      }
    }
    return meter ? meter.level() : 0;
  }

  level(id) {
    return this.meters.get(id)?.level() ?? 0;
  }

  drop(id) {
    this.meters.get(id)?.stop();
    this.meters.delete(id);
  }
}

/**
 * Records `ms` of a track's audio as mono float samples at the context rate (for tests that
 * check what a page hears, e.g. a bot's tone). A remote track must be playing in an element.
 */
export function recordTrack(track, ms) {
  const ctx = audioContext();
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const proc = ctx.createScriptProcessor(4096, 1, 1);
  const chunks = [];
  let total = 0;
  const want = Math.round((ctx.sampleRate * ms) / 1000);
  return new Promise((resolve) => {
    proc.onaudioprocess = (e) => {
      if (total >= want) return;
      chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
      total += e.inputBuffer.length;
      if (total < want) return;
      source.disconnect();
      proc.disconnect();
      const out = new Float32Array(total);
      let off = 0;
      for (const c of chunks) { out.set(c, off); off += c.length; }
      resolve({ sampleRate: ctx.sampleRate, samples: Array.from(out.subarray(0, want)) });
    };
    source.connect(proc);
    // A ScriptProcessor only runs while connected to the output; it writes silence there.
    proc.connect(ctx.destination);
  });
}
