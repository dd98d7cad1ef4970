// The lobby: pick or type a room name, copy its link, join; create a room of either kind
// where the server lets this page use its room API.
import { createBody, createRoom, roomApiOpen } from './js/create-room.js';
import { icons } from './js/icons.js';
import { copyText, randomRoomName, recentRooms, roomNameProblem, roomUrl } from './js/rooms.js';

const $ = (id) => document.getElementById(id);
for (const el of document.querySelectorAll('[data-icon]')) el.innerHTML = icons[el.dataset.icon] ?? '';

const room = $('room');
const name = $('name');
const hint = $('room-hint');
let touched = false;

name.value = localStorage.getItem('callpeer.name') ?? '';

function check(showEmpty) {
  const value = room.value.trim();
  const problem = roomNameProblem(value);
  const show = problem !== '' && (value !== '' || showEmpty);
  room.classList.toggle('invalid', show);
  hint.textContent = show ? problem : '';
  hint.className = show ? 'hint error' : 'hint';
  $('link-box').hidden = problem !== '';
  if (!problem) $('link').textContent = roomUrl(value);
  return problem === '';
}

room.addEventListener('input', () => { touched = true; check(false); });
$('random').addEventListener('click', () => {
  room.value = randomRoomName();
  check(false);
  room.focus();
});
$('copy').addEventListener('click', async () => {
  if (!check(true)) return;
  const ok = await copyText(roomUrl(room.value.trim()));
  hint.className = ok ? 'hint ok' : 'hint error';
  hint.textContent = ok ? 'Link copied. Send it to the people you want to talk to.' : 'Could not copy; select the link and copy it by hand.';
});
/** Goes to the call page of `roomId`, with the typed name (remembered for next time). */
function enter(roomId) {
  const who = name.value.trim();
  if (who) localStorage.setItem('callpeer.name', who);
  const url = new URL(roomUrl(roomId));
  if (who) url.searchParams.set('name', who);
  location.assign(url.toString());
}

$('join-form').addEventListener('submit', (e) => {
  e.preventDefault();
  if (!check(true)) {
    room.focus();
    return;
  }
  enter(room.value.trim());
});

// ---- create a room (mesh or SFU, with a capacity) through the room API ----

const createHint = $('create-hint');
function sayCreate(text, kind = 'error') {
  createHint.textContent = text;
  createHint.className = text ? `hint ${kind}` : 'hint';
}

$('create-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const { body, problem } = createBody({ id: $('create-id').value.trim(), topology: $('create-topology').value, capacity: $('create-capacity').value });
  if (problem) {
    sayCreate(problem);
    $('create-id').focus();
    return;
  }
  $('create').disabled = true;
  sayCreate('Creating…', 'ok');
  const { room: made, message } = await createRoom(body);
  $('create').disabled = false;
  if (!made) return sayCreate(message);
  sayCreate(`Room "${made.id}" created. Joining…`, 'ok');
  enter(made.id);
});

// Shown only when the API answers (auth off, this machine); `data-room-api` tells tests the check is done.
roomApiOpen().then((open) => {
  $('create-form').hidden = !open;
  document.documentElement.dataset.roomApi = open ? 'open' : 'closed';
  if (open && !$('create-id').value) $('create-id').value = randomRoomName();
});

// Rooms joined before from this browser, one click away.
const recent = recentRooms();
$('recent').hidden = recent.length === 0;
for (const r of recent) {
  const chip = document.createElement('button');
  chip.type = 'button';
  chip.className = 'chip';
  chip.textContent = r;
  chip.onclick = () => {
    room.value = r;
    touched = true;
    check(false);
  };
  $('recent').append(chip);
}

// A fresh visitor gets a ready-to-use room name; a typed one is never overwritten.
if (!touched && room.value === '') {
  room.value = randomRoomName();
  check(false);
}
