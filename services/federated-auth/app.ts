import Router from '@koa/router';
import type Koa from 'koa';
import { type Middleware } from 'koa';
import {
  accountSidSchema,
  fasRefreshRequestSchema,
  fasTokenRequestSchema,
  type FasRefreshRefusal,
  type RefreshRefusalCode,
} from '../../domain/contracts';
import { internalServiceApp, type ServiceState } from '../../lib/http/internalServiceApp';
import type { ServiceMetrics } from '../../lib/http/metrics';
import type { Logger } from '../../lib/logger';
import { parseRequest } from '../../lib/http/parseRequest';
import type { SasClient } from './sasClient';

/** Routes any caller may use. Everything else needs the orchestrator's credential. */
export const OPEN_PATHS = ['/healthz'] as const;

export interface FederatedAuthDeps {
  sas: Pick<SasClient, 'generate' | 'validate'>;
  logger: Logger;
  /** Refuses any caller but the orchestrator outside `OPEN_PATHS` (lib/serviceAuth.ts `requireService`). */
  authenticate: Middleware;
  /** Prometheus metrics: requests by route and status, and `GET /metrics` for the scraper (no credential). */
  metrics?: ServiceMetrics;
}

const refusalMessages: Record<RefreshRefusalCode, string> = {
  invalid_token: 'The token is invalid, expired, or not for this account.',
  fingerprint_validation_failed: 'The token is bound to another browser.',
};

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
    const { grants, ttl, fingerprint, fingerprintLevel } = parseRequest(
      fasTokenRequestSchema,
      ctx.request.body,
    );
    const issued = await sas.generate(
      { accountSid, grants, ttl, encrypt: true, fingerprint, fingerprintLevel },
      ctx.state.requestId,
    );
    logger.info(
      { requestId: ctx.state.requestId, accountSid, identity: issued.identity, ttl, fingerprintLevel },
      'token issued',
    );
    ctx.set('Cache-Control', 'no-store');
    ctx.body = issued;
  });

  /**
   * A new token for the identity of a token SAS still accepts, with the account's current grants and ttl.
   * Binding: a bound token stays bound at its level, to the refreshing request's fingerprint (which SAS has just
   * matched against it). So a bound token refreshed without a fingerprint (the account's flag was turned off
   * since) is refused: dropping the binding would let a copied token be laundered into one that works in any
   * browser; the widget falls back to a new token. An unbound token refreshed with a fingerprint (the flag was
   * turned on since) becomes bound: otherwise turning the flag on would never reach sessions that keep
   * refreshing.
   */
  router.post('/v1/Accounts/:accountSid/Tokens/refresh', async (ctx) => {
    const accountSid = parseRequest(accountSidSchema, ctx.params.accountSid, 'accountSid');
    const { token, grants, ttl, fingerprint, fingerprintLevel } = parseRequest(
      fasRefreshRequestSchema,
      ctx.request.body,
    );
    const { requestId } = ctx.state;
    ctx.set('Cache-Control', 'no-store');
    const refuse = (code: RefreshRefusalCode, reason: string) => {
      logger.info({ requestId, accountSid, code, reason }, 'token refresh refused');
      const body: FasRefreshRefusal = { valid: false, code, message: refusalMessages[code] };
      ctx.status = 403;
      ctx.body = body;
    };

    const checked = await sas.validate({ token, fingerprint }, requestId);
    if (!checked.authorized) {
      const code = checked.message === 'fingerprint_validation_failed' ? checked.message : 'invalid_token';
      return refuse(code, checked.message);
    }
    if (checked.auth_account.account_sid !== accountSid) return refuse('invalid_token', 'other_account');
    const bound = checked.fingerprintLevel;
    // SAS matched the fingerprint, so these hold; checked anyway so that no path can drop or change a binding.
    if (bound !== null && (fingerprint === undefined || fingerprintLevel !== bound)) {
      return refuse('fingerprint_validation_failed', 'binding_level_changed');
    }

    const issued = await sas.generate(
      { accountSid, grants, ttl, encrypt: true, identity: checked.identity, fingerprint, fingerprintLevel },
      requestId,
    );
    logger.info(
      { requestId, accountSid, identity: issued.identity, ttl, fingerprintLevel, wasBound: bound !== null },
      'token refreshed',
    );
    ctx.body = issued;
  });

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  return internalServiceApp({ router, logger, authenticate, metrics });
}
