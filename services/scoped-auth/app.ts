import Router from '@koa/router';
import type Koa from 'koa';
import { type Middleware } from 'koa';
import { internalServiceApp, type ServiceState } from '../../lib/http/internalServiceApp';
import type { ServiceMetrics } from '../../lib/http/metrics';
import type { Logger } from '../../lib/logger';
import type { KeyRing } from './keys';
import { sasGenerateRequestSchema, sasValidateRequestSchema } from '../../domain/contracts';
import { parseRequest } from '../../lib/http/parseRequest';
import { inspectToken, mintToken, validateToken } from './tokens';

/** Routes any caller may use: health checks and the public signing keys. Everything else needs FAS. */
export const OPEN_PATHS = ['/healthz', '/.well-known/jwks.json'] as const;

export interface ScopedAuthDeps {
  keys: KeyRing;
  issuer: string;
  audience: string;
  logger: Logger;
  /** Refuses any caller but FAS outside `OPEN_PATHS` (lib/serviceAuth.ts `requireService`). */
  authenticate: Middleware;
  /** Prometheus metrics: requests by route and status, and `GET /metrics` for the scraper (no credential). */
  metrics?: ServiceMetrics;
}

/** The scoped auth service (SAS) as a Koa app, not yet listening. */
export function createScopedAuthApp({
  keys,
  issuer,
  audience,
  logger,
  authenticate,
  metrics,
}: ScopedAuthDeps): Koa<ServiceState> {
  const policy = { issuer, audience };
  const router = new Router<ServiceState>();

  router.post('/v1/ScopedAuthTokens/generate/internal', async (ctx) => {
    const { accountSid, grants, ttl, fingerprint, fingerprintLevel, identity } = parseRequest(
      sasGenerateRequestSchema,
      ctx.request.body,
    );
    const issued = await mintToken(
      keys,
      { accountSid, grants, ttl, fingerprint, fingerprintLevel, identity },
      policy,
    );
    logger.info(
      {
        requestId: ctx.state.requestId,
        accountSid,
        identity: issued.identity,
        ttl,
        fingerprintLevel,
        refresh: identity !== undefined,
      },
      'token issued',
    );
    ctx.set('Cache-Control', 'no-store');
    ctx.body = issued;
  });

  router.post('/v1/ScopedAuthTokens/validate', async (ctx) => {
    const { token, fingerprint } = parseRequest(sasValidateRequestSchema, ctx.request.body);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await validateToken(keys, token, fingerprint, {
      ...policy,
      log: logger.child({ requestId: ctx.state.requestId }),
    });
  });

  // FAS's variant for refresh: the same checks, plus the binding level the new token must keep.
  router.post('/v1/ScopedAuthTokens/validate/internal', async (ctx) => {
    const { token, fingerprint } = parseRequest(sasValidateRequestSchema, ctx.request.body);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await inspectToken(keys, token, fingerprint, {
      ...policy,
      log: logger.child({ requestId: ctx.state.requestId }),
    });
  });

  router.get('/.well-known/jwks.json', (ctx) => {
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = keys.jwks;
  });

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  return internalServiceApp({ router, logger, authenticate, metrics });
}
