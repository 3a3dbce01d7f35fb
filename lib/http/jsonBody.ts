import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import { AppError } from '../../domain/errors';

/**
 * Body parsing for the internal JSON services: JSON only, small bodies, and every failure mapped to our codes
 * (415 for another content type, 413 when too large, 400 when malformed).
 */
export function jsonBody(limit = '16kb'): Middleware {
  const parse = bodyParser({ enableTypes: ['json'], jsonLimit: limit, encoding: 'utf-8' });
  return async (ctx, next) => {
    if (ctx.method === 'POST' || ctx.method === 'PUT' || ctx.method === 'PATCH') {
      if (!ctx.is('application/json')) {
        throw new AppError('unsupported_media_type', 'Send application/json.');
      }
    }
    await parse(ctx, next);
  };
}
