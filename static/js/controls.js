// The call page's buttons and shortcuts: microphone, camera, screen, settings, side panel.
import { LISTEN_ONLY_NOTE } from './local-media.js';
import { SettingsDialog } from './settings.js';
import { $, setControl, toggleSide } from './ui.js';

/** Paints the control bar (and the name prompt's two switches) from what we send. */
export function renderControls(local) {
  const on = local.state;
  setControl($('btn-mic'), local.mic
    ? { icon: on.audio ? 'mic' : 'micOff', off: !on.audio, label: on.audio ? 'Mute microphone' : 'Unmute microphone' }
    : { icon: 'micOff', off: true, disabled: true, label: local.listenOnly ? `Microphone off: ${LISTEN_ONLY_NOTE}` : 'No microphone' });
  setControl($('btn-cam'), local.listenOnly ? { icon: 'camOff', off: true, disabled: true, label: `Camera off: ${LISTEN_ONLY_NOTE}` }
    : local.devices.video ? { icon: on.video ? 'cam' : 'camOff', off: !on.video, label: on.video ? 'Turn camera off' : 'Turn camera on' }
      : { icon: 'camOff', off: true, disabled: true, label: 'No camera' });
  setControl($('btn-screen'), local.listenOnly ? { icon: 'screen', disabled: true, label: `Screen sharing unavailable: ${LISTEN_ONLY_NOTE}` }
    : { icon: 'screen', on: on.screen, label: on.screen ? 'Stop sharing' : 'Share your screen' });
  for (const kind of ['mic', 'cam']) {
    const main = $(`btn-${kind}`);
    setControl($(`pre-${kind}`), { icon: main.dataset.icon, off: main.classList.contains('off'), label: main.title, disabled: main.disabled });
  }
}

/**
 * @param {object} o
 * @param {import('./local-media.js').LocalMedia} o.local
 * @param {(text: string) => void} o.complain shows a failure sentence ('' = none)
 * @param {() => void} o.relayout the grid changed size
 * @param {() => void} o.markChatRead
 * @param {() => string} o.speaker
 * @param {(deviceId: string) => void} o.useSpeaker
 */
export function wireControls(o) {
  const { local, complain } = o;
  $('btn-mic').onclick = $('pre-mic').onclick = () => local.toggleMic();
  $('btn-cam').onclick = $('pre-cam').onclick = () => local.toggleCamera().then(complain);
  $('btn-screen').onclick = () => local.toggleScreen().then(complain);

  // Shortcuts as in other call apps: Ctrl/⌘+D microphone, Ctrl/⌘+E camera.
  document.addEventListener('keydown', (e) => {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return;
    const key = e.key.toLowerCase();
    if (key !== 'd' && key !== 'e') return;
    e.preventDefault();
    if (key === 'd') local.toggleMic();
    else local.toggleCamera().then(complain);
  });

  const settings = new SettingsDialog({ local, complain, speaker: o.speaker, useSpeaker: o.useSpeaker });
  $('btn-settings').onclick = $('pre-settings').onclick = () => settings.open();

  const openSide = (tab) => {
    if (toggleSide(tab) === 'chat') {
      o.markChatRead();
      $('chat-input').focus();
    }
    o.relayout();
  };
  for (const tab of ['people', 'chat']) {
    $(`btn-${tab}`).onclick = () => openSide(tab);
    $(`tab-${tab}`).onclick = () => openSide(tab);
  }
  $('close-side').onclick = () => openSide('');
}
