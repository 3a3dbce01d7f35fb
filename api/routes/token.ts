import Router from '@koa/router';
import type { Context } from 'koa';
import type { CreateWebchatTokenInput } from '../../lib/contracts';
import { AppError } from '../../lib/errors';
import { collectSignals } from '../../lib/fingerprint';
import { applyCors, preflight } from '../cors';
import type { Issuer } from '../issuer';
import { readDeploymentKey, tokenBody } from '../tokenRequest';

export function tokenRouter({ issuer, deadlineMs }: { issuer: Issuer; deadlineMs: number }): Router {
  const router = new Router({ prefix: '/v2/Webchat' });

  router.options('/Token', preflight());

  router.post('/Token', tokenBody(), async (ctx: Context) => {
    const input: CreateWebchatTokenInput = {
      requestId: ctx.state.requestId as string,
      deploymentKey: readDeploymentKey(ctx),
      origin: ctx.get('origin') || null,
      signals: collectSignals(ctx.headers, ctx.request.ips[0] ?? ctx.request.ip),
    };
    const result = await issuer.createToken(input, deadlineMs);
    applyCors(ctx, result.cors);
    if (result.outcome === 'denied') {
      throw new AppError(result.reason, result.message);
    }
    ctx.status = 200;
    ctx.body = { token: result.token, identity: result.identity, expiration: result.expiration };
  });

  return router;
}
