/** Reading a request body with a size limit, for the room API and WHIP. */
import type { IncomingMessage } from 'node:http';
import { CallpeerError } from '../errors.js';

/** A body over the limit is read and dropped up to this size before the 413. */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

/**
 * The request's body, at most `maxBytes`; throws MESSAGE_TOO_LARGE past it. A body over the
 * limit is read to its end and dropped, so the client (still sending) gets its 413 instead of
 * a reset connection; past DRAIN_LIMIT_BYTES the connection is cut.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > DRAIN_LIMIT_BYTES) break;
    if (size <= maxBytes) chunks.push(chunk as Buffer);
  }
  if (size > maxBytes) throw new CallpeerError('MESSAGE_TOO_LARGE', `the body is over ${maxBytes} bytes`);
  return Buffer.concat(chunks);
}
