import Router from '@koa/router';
import type { Context } from 'koa';
import { AppError } from '../../domain/errors';
import type { IssuedTokenBody, RefreshRefusalBody } from '../../domain/publicContract';
import { applyCors, preflight } from '../cors';
import { checkDpop, type DpopSettings } from '../dpopCheck';
import { readIdempotencyKey } from '../idempotency';
import type { RateLimits } from '../rateLimit';
import type { TokenRuns } from '../tokenRuns';
import { perClientIp, readToken, readTokenRequest, tokenBody } from '../tokenRequest';

/** The shipped widget refreshes on `Tokens/Refresh`; `Token/Refresh` is the route this API has always had. */
const refreshPaths = ['/Token/Refresh', '/Tokens/Refresh'];

/**
 * The token resource, under `/v2/Webchat`:
 * - `POST /Token`: a token for the deployment key, bound to the browser when the account asks;
 * - `POST /Token/Refresh` (and `/Tokens/Refresh`, the same route): a new token for the same identity when the
 *   old one is valid and, for a bound token, presented by the same browser; a refusal is
 *   403 `{valid: false, code, message}`.
 * Both take the same input rules, limits and CORS, and answer preflights.
 */
export function tokenRouter({
  runs,
  deadlineMs,
  rateLimits,
  dpop,
}: {
  runs: TokenRuns;
  deadlineMs: number;
  /** Absent: no limits (tests of other behaviour). */
  rateLimits?: RateLimits;
  /** How DPoP proofs are checked; absent, a proof presented counts as refused. */
  dpop?: DpopSettings;
}): Router {
  const router = new Router({ prefix: '/v2/Webchat' });
  router.options('/Token', preflight());
  router.options(refreshPaths, preflight());

  router.post('/Token', perClientIp(rateLimits), tokenBody(), async (ctx: Context) => {
    const idempotencyKey = readIdempotencyKey(ctx);
    const request = await readTokenRequest(ctx, rateLimits);
    const proof = await checkDpop(ctx, dpop);
    const input = { ...request, ...(proof && { dpop: proof }) };
    const result = await runs.runCreate(input, deadlineMs, idempotencyKey ? { idempotencyKey } : {});
    applyCors(ctx, result.cors);
    if (result.outcome === 'denied') {
      throw new AppError(result.reason, result.message);
    }
    answerToken(ctx, result);
  });

  router.post(refreshPaths, perClientIp(rateLimits), tokenBody(), async (ctx: Context) => {
    const request = await readTokenRequest(ctx, rateLimits, (c) => ({ token: readToken(c) }));
    const proof = await checkDpop(ctx, dpop, request.token);
    const input = { ...request, ...(proof && { dpop: proof }) };
    const result = await runs.runRefresh(input, deadlineMs);
    applyCors(ctx, result.cors);
    if (result.outcome === 'refused') {
      const refusal: RefreshRefusalBody = { valid: false, code: result.code, message: result.message };
      ctx.status = 403;
      ctx.body = refusal;
      return;
    }
    answerToken(ctx, result);
  });

  return router;
}

function answerToken(ctx: Context, { token, identity, expiration }: IssuedTokenBody): void {
  const body: IssuedTokenBody = { token, identity, expiration };
  ctx.status = 200;
  ctx.body = body;
}
