import type { ServerResponse } from 'node:http';

/**
 * The Content-Security-Policy of every response: nothing is allowed unless listed.
 * - script-src 'self': the pages' modules and /duo's AudioWorklet modules (worklets are
 *   scripts); no inline script, no event-handler attribute, no eval.
 * - style-src 'self': style.css and duo/duo.css; no style="" attribute or <style> block (the
 *   pages set styles through the CSSOM, `el.style.x = …`, which CSP does not govern).
 * - img-src 'self': favicon.svg (icons are inline SVG markup, not image loads).
 * - connect-src 'self': the same-origin WebSocket (/ws, /ws/pcm); CSP 3 lets 'self' match
 *   ws:/wss: on the page's host and port.
 * - Media elements play MediaStreams (srcObject), which load no URL: media-src stays 'none',
 *   as do fonts (system fonts only), frames, objects, workers and manifests.
 * - base-uri 'none', form-action 'self' (forms are handled in script; a submit that slipped
 *   through stays on this server), frame-ancestors 'none' (no page can frame ours).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The security headers every HTTP response carries (pages, static files, 404s, JSON).
 * Referrer-Policy no-referrer: nothing on the server or the pages reads a Referer, and page
 * URLs carry room names and /duo invite codes (`?pair=`) that must not leak to anyone.
 * Invite links are built from `location.origin`, not from the referrer, and a WebSocket's
 * Origin header is sent whatever the referrer policy.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
});

/** Sets SECURITY_HEADERS on `res` (before writeHead; headers given to writeHead are merged with them). */
export function applySecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}
