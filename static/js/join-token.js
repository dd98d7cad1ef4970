// The join token of an invitation link (docs/call-pages.md): `/r/<room>#token=<jwt>`. In the
// fragment it never reaches the server's logs nor a Referer; `?token=` is accepted too, for
// links made by other tools. The page sends it in `join.token` and keeps it for re-joins.

/** The token of the page's link ('' when none): the fragment's `token=` first, then the query's. */
export function joinToken(loc = location) {
  const fromHash = new URLSearchParams(loc.hash.replace(/^#/, '')).get('token');
  return (fromHash || new URLSearchParams(loc.search).get('token') || '').trim();
}

/**
 * The token's claims, read without checking the signature ({} when it is not a JWT): only to
 * show the name it grants and whether it may publish. The server verifies it and decides.
 */
export function tokenClaims(token) {
  const payload = token.split('.')[1];
  if (!payload) return {};
  try {
    const b64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims !== null && typeof claims === 'object' && !Array.isArray(claims) ? claims : {};
  } catch {
    return {};
  }
}

/** The display name a token grants, if any (it wins over the one typed: the server uses it). */
export function grantedName(claims) {
  return typeof claims.name === 'string' && claims.name.trim() !== '' ? claims.name.trim().slice(0, 64) : '';
}

/**
 * A refused join in plain words: {title, text}. `hasToken`: whether the link carried one.
 * The server's own reason (e.g. "the token has expired") follows in brackets.
 */
export function joinRefusal(code, message, hasToken) {
  const why = message ? ` (The server says: ${message}.)` : '';
  if (code === 'UNAUTHORIZED') {
    return {
      title: 'You need an invitation',
      text: hasToken
        ? `This room needs an invitation link: the link you used has no valid token (it may have expired). Ask whoever invited you for a new link.${why}`
        : `This room needs an invitation link: the link you used has none. Ask whoever runs the call for one.${why}`,
    };
  }
  if (code === 'ROOM_NOT_FOUND') {
    return { title: 'No such room', text: 'This room does not exist (yet). Check the link, or ask whoever runs the call to open the room, then try again.' };
  }
  return { title: 'Could not join', text: message || 'The server refused to let this page into the room.' };
}
