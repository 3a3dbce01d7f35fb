import Router from '@koa/router';
import Koa from 'koa';
import { AppError } from '../../lib/errors';
import { accessLog } from '../../lib/http/accessLog';
import { errorHandler } from '../../lib/http/errorHandler';
import { jsonBody } from '../../lib/http/jsonBody';
import { requestId } from '../../lib/http/requestId';
import type { Logger } from '../../lib/logger';
import { accountSidSchema, fasTokenRequestSchema, parseRequest } from '../scoped-auth/schemas';
import type { SasClient } from './sasClient';

export interface FederatedAuthDeps {
  sas: Pick<SasClient, 'generate'>;
  logger: Logger;
}

/** Set by lib/http/requestId.ts. */
interface State {
  requestId: string;
}

/** The federated auth service (FAS) as a Koa app, not yet listening. */
export function createFederatedAuthApp({ sas, logger }: FederatedAuthDeps): Koa<State> {
  const router = new Router<State>();

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

  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  const app = new Koa<State>();
  // Request id and access log wrap the error middleware so the log line has the status the client got.
  app.use(requestId());
  app.use(accessLog(logger));
  app.use(errorHandler(logger));
  app.use(jsonBody());
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true, methodNotAllowed, notImplemented: methodNotAllowed }));
  return app;
}

// Thrown so that the error middleware answers JSON; @koa/router's own 405 has an empty body.
const methodNotAllowed = () => new AppError('method_not_allowed', 'Method not allowed.');
