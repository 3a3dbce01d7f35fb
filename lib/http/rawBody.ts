import type { Context } from 'koa';
import { AppError } from '../../domain/errors';

/** The largest body an internal service (FAS, SAS) reads: its requests are a few hundred bytes. */
export const INTERNAL_BODY_LIMIT_BYTES = 16 * 1024;

const read = new WeakMap<Context, Promise<Buffer>>();

/**
 * The request's body as it arrived, read once and kept for the request: the service credential's check hashes
 * these bytes (lib/serviceAuth.ts) and the JSON parser parses the same ones (lib/http/jsonBody.ts). Bounded:
 * over `limitBytes`, declared or streamed, is 413; a compressed body is 415 (nothing internal compresses, and
 * the hash covers the bytes as sent).
 */
export function readRawBody(ctx: Context, limitBytes: number): Promise<Buffer> {
  let body = read.get(ctx);
  if (!body) {
    body = readBounded(ctx, limitBytes);
    read.set(ctx, body);
  }
  return body;
}

async function readBounded(ctx: Context, limitBytes: number): Promise<Buffer> {
  const encoding = ctx.get('content-encoding').toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    throw new AppError('unsupported_media_type', 'Send an uncompressed body.');
  }
  const tooLarge = () => new AppError('payload_too_large', 'The request body is too large.');
  if (Number(ctx.get('content-length') || 0) > limitBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of ctx.req) {
    length += (chunk as Buffer).length;
    if (length > limitBytes) {
      ctx.req.resume(); // discard the rest, so the caller reads the 413 instead of a reset
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, length);
}
