import Router from '@koa/router';
import type Koa from 'koa';
import { type Middleware } from 'koa';
import { accountSidSchema } from '../../domain/accountRules';
import {
  fasRefreshRequestSchema,
  fasTokenRequestSchema,
  type FasRefreshRefusal,
} from '../../domain/contracts';
import { refusalMessages } from '../../domain/refusals';
import { logFields, logIssuedToken } from '../../lib/http/accessLog';
import { internalServiceApp, type ServiceState } from '../../lib/http/internalServiceApp';
import type { ServiceMetrics } from '../../lib/http/metrics';
import type { Logger } from '../../lib/logger';
import { parseRequest } from '../../lib/http/parseRequest';
import type { SasClient } from './sasClient';

/** Routes any caller may use. Everything else needs the orchestrator's credential. */
export const OPEN_PATHS = ['/healthz'] as const;

export interface FederatedAuthDeps {
  sas: Pick<SasClient, 'generate' | 'refresh'>;
  logger: Logger;
  /** Refuses any caller but the orchestrator outside `OPEN_PATHS` (lib/serviceAuth.ts `requireService`). */
  authenticate: Middleware;
  /** Prometheus metrics: requests by route and status, and `GET /metrics` for the scraper (no credential). */
  metrics?: ServiceMetrics;
}

/** The federated auth service (FAS) as a Koa app, not yet listening. */
export function createFederatedAuthApp({
  sas,
  logger,
  authenticate,
  metrics,
}: FederatedAuthDeps): Koa<ServiceState> {
  const router = new Router<ServiceState>();

  router.post('/v1/Accounts/:accountSid/Tokens', async (ctx) => {
    const accountSid = parseRequest(accountSidSchema, ctx.params.accountSid, 'accountSid');
    const request = parseRequest(fasTokenRequestSchema, ctx.request.body);
    const issued = await sas.generate({ accountSid, ...request, encrypt: true }, ctx.state.requestId);
    logIssuedToken(ctx, accountSid, issued.identity, request);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = issued;
  });

  /**
   * A successor for a token, minted by SAS with the account's current grants, ttl and session maximum age. SAS
   * owns every rule (rotation, reuse detection, revocation, session age, binding: a bound token stays bound at
   * its level, an unbound one refreshed with a fingerprint becomes bound); FAS checks the request and turns a
   * refusal into its 403.
   */
  router.post('/v1/Accounts/:accountSid/Tokens/refresh', async (ctx) => {
    const accountSid = parseRequest(accountSidSchema, ctx.params.accountSid, 'accountSid');
    const body = parseRequest(fasRefreshRequestSchema, ctx.request.body);
    const { requestId } = ctx.state;
    ctx.set('Cache-Control', 'no-store');
    const result = await sas.refresh({ accountSid, ...body }, requestId);
    if (result.outcome === 'refused') {
      logFields(ctx, { accountSid, refused: result.code });
      const refusal: FasRefreshRefusal = {
        valid: false,
        code: result.code,
        message: refusalMessages[result.code],
      };
      ctx.status = 403;
      ctx.body = refusal;
      return;
    }
    const { token, identity, expiration } = result;
    logFields(ctx, { accountSid, identity, ttl: body.ttl, fingerprintLevel: body.fingerprintLevel });
    ctx.body = { token, identity, expiration };
  });

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  return internalServiceApp({ router, logger, authenticate, metrics });
}
