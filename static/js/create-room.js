// The lobby's "Create a room" form (docs/call-pages.md): a room of either kind (mesh or SFU)
// with a capacity, made through the room API (POST /api/rooms). Shown only where the API
// answers this page: auth off and the page on this machine (or `serve --open-api`). With auth
// on the API needs an admin token, which a lobby visitor does not have, so the form stays hidden.
import { roomNameProblem } from './rooms.js';

/** Whether the room API answers this page: `GET /api/rooms` is 200 (401 or anything else: no). */
export async function roomApiOpen(fetchFn = fetch) {
  try {
    const res = await fetchFn('/api/rooms', { headers: { accept: 'application/json' }, cache: 'no-store' });
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * The API body for what the form holds, or {problem} in plain words. `capacity` is the
 * input's text ('' = the server's default); its range is the server's to check.
 */
export function createBody({ id, topology, capacity }) {
  const problem = roomNameProblem(id);
  if (problem) return { problem };
  const body = { id, topology: topology === 'sfu' ? 'sfu' : 'mesh' };
  if (capacity.trim() !== '') body.maxMembers = Number(capacity);
  return { body };
}

/**
 * POSTs the room. Resolves {room} on 201, else {message}: the server's own words for a 400 or
 * 409 (`{"error":{"code","message"}}`), with what to do next.
 */
export async function createRoom(body, fetchFn = fetch) {
  let res;
  try {
    res = await fetchFn('/api/rooms', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch {
    return { message: 'The server could not be reached. Check your connection and try again.' };
  }
  const answer = await res.json().catch(() => ({}));
  if (res.status === 201) return { room: answer };
  const said = typeof answer?.error?.message === 'string' ? answer.error.message : `the server answered ${res.status}`;
  // 400 names the bad field and 401 says who may call: nothing to add to those.
  const next = res.status === 409 ? ' Pick another name, or join that room with the form above.'
    : res.status === 400 || res.status === 401 ? '' : ' Try again in a moment.';
  return { message: `Not created: ${said}.${next}` };
}
