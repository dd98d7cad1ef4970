// What this page sends: microphone, camera and screen, and the on/off state others see.
import { openCamera, openDevices, openMicrophone, openScreen } from './media.js';

/** Why nothing is sent when the member's token says `publish: false`. */
export const LISTEN_ONLY_NOTE = 'your invitation lets you listen and watch only';

export class LocalMedia {
  /**
   * @param {object} o
   * @param {(kind: 'audio'|'video', track: MediaStreamTrack | undefined) => Promise<unknown>} o.sendTrack puts a track (or none) on every peer connection
   * @param {() => void} o.changed the on/off state changed: tell the room, redraw
   */
  constructor(o) {
    this.o = o;
    this.stream = new MediaStream();
    this.screenTrack = undefined;
    /** What others see: audio = microphone on, video = camera on, screen = sharing. */
    this.state = { audio: false, video: false, screen: false };
    /** Which devices we could open at all, and a plain sentence when one is missing. */
    this.devices = { audio: false, video: false, note: '' };
    this.busy = false;
    /** Chosen devices by kind ('' = the browser's default). */
    this.deviceIds = { audio: '', video: '' };
    this.audioConstraints = true;
    /** True when this member may not send at all (its token says `publish: false`). */
    this.listenOnly = false;
  }

  get mic() { return this.stream.getAudioTracks()[0]; }
  get camera() { return this.stream.getVideoTracks()[0]; }
  /** The screen while sharing, else the camera (if on). */
  get video() { return this.screenTrack ?? this.camera; }

  /** `raw` turns off echo cancellation, noise suppression and gain control (tests with tones). */
  async open({ raw = false } = {}) {
    this.audioConstraints = raw ? { echoCancellation: false, noiseSuppression: false, autoGainControl: false } : true;
    const dev = await openDevices({ audioConstraints: this.audioConstraints });
    this.stream = dev.stream;
    this.devices = { audio: dev.audio, video: dev.video, note: dev.note };
    this.state.audio = dev.audio;
    this.state.video = dev.video;
    return this.devices;
  }

  /** Opens no device: this member may only listen and watch. Resolves the devices, as open() does. */
  async openNone(note) {
    this.listenOnly = true;
    this.devices = { audio: false, video: false, note };
    this.state.audio = false;
    this.state.video = false;
    return this.devices;
  }

  toggleMic() {
    const t = this.mic;
    if (!t) return;
    t.enabled = !t.enabled;
    this.state.audio = t.enabled;
    this.o.changed();
  }

  /** Camera off stops the track (its light goes out); on asks for a new one. Resolves an error sentence or ''. */
  async toggleCamera() {
    if (!this.devices.video || this.busy || this.listenOnly) return '';
    this.busy = true;
    try {
      const old = this.camera;
      if (old) {
        this.stream.removeTrack(old);
        old.stop();
        this.state.video = false;
      } else {
        const track = await openCamera(this.deviceIds.video);
        if (!track) return 'The camera could not be started. Is another app using it?';
        this.stream.addTrack(track);
        this.state.video = true;
      }
      if (!this.screenTrack) await this.o.sendTrack('video', this.camera);
      this.o.changed();
      return '';
    } finally {
      this.busy = false;
    }
  }

  /** Starts or stops sharing. Resolves an error sentence or '' (a cancelled picker is not an error). */
  async toggleScreen() {
    if (this.screenTrack) {
      await this.stopScreen();
      return '';
    }
    if (this.listenOnly) return `Screen sharing is not possible: ${LISTEN_ONLY_NOTE}.`;
    let track;
    try {
      track = await openScreen();
    } catch (err) {
      return `Screen sharing failed: ${err.message}`;
    }
    if (!track) return '';
    this.screenTrack = track;
    // The browser's own "Stop sharing" button ends the track.
    track.onended = () => this.stopScreen();
    this.state.screen = true;
    await this.o.sendTrack('video', track);
    this.o.changed();
    return '';
  }

  async stopScreen() {
    const track = this.screenTrack;
    if (!track) return;
    this.screenTrack = undefined;
    track.stop();
    this.state.screen = false;
    await this.o.sendTrack('video', this.camera);
    this.o.changed();
  }

  /**
   * Switches the microphone or camera to another device; mute and camera-off carry over (a
   * camera that is off only remembers the choice). Resolves an error sentence or ''.
   */
  async useDevice(kind, deviceId) {
    this.deviceIds[kind] = deviceId;
    const old = kind === 'audio' ? this.mic : this.camera;
    if (!old) return '';
    const track = kind === 'audio' ? await openMicrophone(this.audioConstraints, deviceId) : await openCamera(deviceId);
    if (!track) return `That ${kind === 'audio' ? 'microphone' : 'camera'} could not be opened.`;
    track.enabled = old.enabled;
    this.stream.removeTrack(old);
    old.stop();
    this.stream.addTrack(track);
    if (kind === 'audio' || !this.screenTrack) await this.o.sendTrack(kind, track);
    this.o.changed();
    return '';
  }

  /** The device id a track came from ('' when unknown). */
  currentDevice(kind) {
    const t = kind === 'audio' ? this.mic : this.camera;
    return t?.getSettings().deviceId ?? this.deviceIds[kind];
  }

  stopAll() {
    for (const t of this.stream.getTracks()) t.stop();
    this.screenTrack?.stop();
  }
}
