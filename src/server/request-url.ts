import type { IncomingMessage } from 'node:http';

/** RFC 9110 `uri-host [ ":" port ]`: a registered name, IPv4 address or [IPv6], and digits. */
const HOST_HEADER = /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*)(?::\d{0,5})?$/;

/**
 * The URL of a request, parsed against a fixed base, or undefined when the request is bad:
 * a request line that does not parse (`GET http://a b/ HTTP/1.1`) or a Host header that is
 * not a host (`Host: %%%`), which RFC 9112 §3.2 answers with 400. Routing needs only the path
 * and query, so the Host never goes into the URL. Callers answer undefined with 400.
 */
export function requestUrl(req: Pick<IncomingMessage, 'url' | 'headers'>): URL | undefined {
  const host = req.headers.host;
  if (host !== undefined && !HOST_HEADER.test(host)) return undefined;
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

/** A path segment, percent-decoded; '' when its escapes are broken (callers refuse it as a bad name). */
export function decodePathSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return '';
  }
}
