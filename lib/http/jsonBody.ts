import type { Middleware } from 'koa';
import { AppError } from '../../domain/errors';
import { INTERNAL_BODY_LIMIT_BYTES, readRawBody } from './rawBody';

/**
 * Body parsing for the internal JSON services: JSON objects or arrays only (each route's schema says which), small bodies, and every failure
 * mapped to our codes (415 for another content type, 413 when too large, 400 when malformed). It parses the
 * bytes `readRawBody` kept, the very ones a service credential's body hash was checked against.
 */
export function jsonBody(limitBytes = INTERNAL_BODY_LIMIT_BYTES): Middleware {
  return async (ctx, next) => {
    if (ctx.method === 'POST' || ctx.method === 'PUT' || ctx.method === 'PATCH') {
      if (!ctx.is('application/json')) {
        throw new AppError('unsupported_media_type', 'Send application/json.');
      }
      const raw = await readRawBody(ctx, limitBytes);
      ctx.request.body = raw.length === 0 ? {} : parseObject(raw.toString('utf8'));
    }
    await next();
  };
}

function parseObject(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('invalid_request', 'The request body is malformed.');
  }
  if (typeof value !== 'object' || value === null) {
    throw new AppError('invalid_request', 'The request body must be a JSON object or array.');
  }
  return value;
}
