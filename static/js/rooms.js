// Room names: the validation rule of the protocol, and readable random names for the lobby.

export const ROOM_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const ADJECTIVES = [
  'brave', 'calm', 'bright', 'swift', 'quiet', 'lucky', 'gentle', 'bold', 'clever', 'sunny',
  'happy', 'misty', 'rapid', 'silver', 'golden', 'cosmic', 'amber', 'crisp', 'witty', 'zesty',
];
const ANIMALS = [
  'otter', 'falcon', 'panda', 'lynx', 'heron', 'koala', 'badger', 'dolphin', 'fox', 'owl',
  'tiger', 'whale', 'robin', 'gecko', 'bison', 'moose', 'raven', 'seal', 'hare', 'wren',
];

function pick(list) {
  const buf = new Uint32Array(1);
  crypto.getRandomValues(buf);
  return list[buf[0] % list.length];
}

/** e.g. "brave-otter-42" */
export function randomRoomName() {
  const n = new Uint32Array(1);
  crypto.getRandomValues(n);
  return `${pick(ADJECTIVES)}-${pick(ANIMALS)}-${10 + (n[0] % 90)}`;
}

/**
 * An invite code nobody can guess: 128 random bits as 22 base64url characters (the room-id
 * charset). Whoever brings a code first takes the slot, so a guessable one can be stolen.
 */
export function randomInviteCode() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A plain-words problem with a typed room name, or '' when it is fine. */
export function roomNameProblem(name) {
  if (name.length === 0) return 'Type a room name, or pick a random one.';
  if (name.length > 64) return 'Room names are at most 64 characters.';
  if (!ROOM_ID_PATTERN.test(name)) return 'Room names use only letters, digits, "-" and "_" (no spaces).';
  return '';
}

export function roomUrl(name, origin = location.origin) {
  return `${origin}/r/${encodeURIComponent(name)}`;
}

/** Copies text; falls back to a hidden textarea where the Clipboard API is unavailable (plain http on a LAN address). */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.append(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    return ok;
  }
}

const RECENT_KEY = 'callpeer.recentRooms';

/** Rooms this browser joined lately, newest first (at most 5). */
export function recentRooms() {
  try {
    const list = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]');
    return Array.isArray(list) ? list.filter((r) => typeof r === 'string' && ROOM_ID_PATTERN.test(r)).slice(0, 5) : [];
  } catch {
    return [];
  }
}

export function rememberRoom(room) {
  const list = [room, ...recentRooms().filter((r) => r !== room)].slice(0, 5);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(list));
  } catch {
    // Storage full or disabled (private mode): the list is a convenience only.
  }
}
