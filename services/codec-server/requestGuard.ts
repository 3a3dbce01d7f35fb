import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { Counter, type Registry } from 'prom-client';
import { AppError } from '../../domain/errors';
import type { Logger } from '../../lib/logger';

export type RefusalReason = 'host' | 'origin' | 'auth';

export interface RequestGuardOptions {
  /** `Host` values (name and port, lower case) this server answers to. */
  allowedHosts: readonly string[];
  /** The Temporal UI's origins: the only browser pages that may call. */
  corsOrigins: readonly string[];
  /** With a token, every call but `/healthz` and `/metrics` must carry `Authorization: Bearer <token>`. */
  authToken?: string;
  logger: Logger;
  /** Where `codec_requests_refused_total` is counted. */
  registry: Registry;
}

const openPaths = new Set(['/healthz', '/metrics']);

/**
 * The codec server decrypts history payloads, and results hold live tokens, so it answers only what it is
 * meant to serve:
 * - a `Host` it serves: a page on another site that rebinds its own DNS name to 127.0.0.1 still sends its own
 *   name as `Host`, so DNS rebinding ends here;
 * - no `Origin` (the CLI, a script) or the UI's: any other page is refused before its request is read, even
 *   where a simple request would not need a preflight;
 * - with `CODEC_AUTH_TOKEN`, the bearer token (compared in constant time). A preflight never carries it.
 * Every refusal is logged (reason, host and origin, never the credential) and counted by reason.
 */
export function requestGuard({
  allowedHosts,
  corsOrigins,
  authToken,
  logger,
  registry,
}: RequestGuardOptions): Middleware {
  const hosts = new Set(allowedHosts.map((h) => h.toLowerCase()));
  const refused = refusalCounter(registry);
  const expected = authToken ? digest(authToken) : null;

  return async (ctx, next) => {
    const refuse = (reason: RefusalReason, error: AppError): never => {
      refused.inc({ reason });
      logger.warn(
        {
          requestId: ctx.state.requestId as unknown,
          reason,
          method: ctx.method,
          path: ctx.path.slice(0, 100),
          host: (ctx.headers.host ?? '').slice(0, 200),
          origin: ctx.get('origin').slice(0, 200),
        },
        'codec request refused',
      );
      throw error;
    };

    if (!hosts.has((ctx.headers.host ?? '').toLowerCase())) {
      refuse('host', new AppError('host_not_allowed', 'This server does not answer to that host name.'));
    }
    const origin = ctx.get('origin');
    if (origin && !corsOrigins.includes(origin)) {
      refuse('origin', new AppError('origin_not_allowed', 'Only the Temporal UI may call this server.'));
    }
    if (expected && ctx.method !== 'OPTIONS' && !openPaths.has(ctx.path)) {
      const match = /^Bearer ([^\s]+)$/.exec(ctx.get('authorization'));
      if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
        refuse(
          'auth',
          new AppError('unauthorized', 'A valid bearer token is required.', {
            'WWW-Authenticate': 'Bearer',
          }),
        );
      }
    }
    await next();
  };
}

/** Equal-length inputs for `timingSafeEqual`, whatever the length of the token presented. */
const digest = (s: string) => createHash('sha256').update(s).digest();

function refusalCounter(registry: Registry): Counter<'reason'> {
  const name = 'codec_requests_refused_total';
  return (
    (registry.getSingleMetric(name) as Counter<'reason'> | undefined) ??
    new Counter({
      name,
      help: 'Codec server requests refused, by reason: host (not a name it serves), origin (not the UI), auth (bearer token missing or wrong).',
      labelNames: ['reason'],
      registers: [registry],
    })
  );
}
