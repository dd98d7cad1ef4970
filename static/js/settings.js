// The settings dialog: which microphone, camera and speaker the page uses.
import { listDevices } from './media.js';
import { $ } from './ui.js';

const KIND_OF = { audioinput: 'audio', videoinput: 'video' };

export class SettingsDialog {
  /**
   * @param {object} o
   * @param {import('./local-media.js').LocalMedia} o.local
   * @param {(deviceId: string) => void} o.useSpeaker plays every remote stream on this output
   * @param {() => string} o.speaker the current output ('' = default)
   * @param {(text: string) => void} o.complain shows a failure
   */
  constructor(o) {
    this.o = o;
    // Choosing the speaker needs HTMLMediaElement.setSinkId (not in every browser).
    this.canPickSpeaker = 'setSinkId' in HTMLMediaElement.prototype;
    $('settings-form').addEventListener('submit', (e) => {
      e.preventDefault();
      $('settings').hidden = true;
    });
    for (const [kind, local] of Object.entries(KIND_OF)) {
      $(`set-${kind}`).addEventListener('change', (e) => o.local.useDevice(local, e.target.value).then(o.complain));
    }
    $('set-audiooutput').addEventListener('change', (e) => o.useSpeaker(e.target.value));
    // A click beside the card or Escape closes it, like any dialog.
    $('settings').addEventListener('click', (e) => { if (e.target === $('settings')) $('settings').hidden = true; });
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape') $('settings').hidden = true; });
  }

  async open() {
    const devices = await listDevices();
    const current = {
      audioinput: this.o.local.currentDevice('audio'),
      videoinput: this.o.local.currentDevice('video'),
      audiooutput: this.o.speaker(),
    };
    for (const kind of ['audioinput', 'videoinput', 'audiooutput']) {
      const select = $(`set-${kind}`);
      select.innerHTML = '';
      for (const d of devices[kind]) select.append(new Option(d.label, d.deviceId, false, d.deviceId === current[kind]));
      if (devices[kind].length === 0) select.append(new Option(kind === 'audiooutput' ? 'System default' : 'None found', ''));
      select.disabled = devices[kind].length === 0;
    }
    $('row-audiooutput').hidden = !this.canPickSpeaker;
    $('settings').hidden = false;
  }
}
