import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware } from 'koa';
import type { z } from 'zod';
import type { CreateWebchatTokenInput } from '../domain/contracts';
import { AppError } from '../domain/errors';
import { deploymentKeySchema, refreshTokenSchema } from '../domain/publicContract';
import { collectSignals } from '../lib/fingerprint';
import { clientIpOf } from './clientAddress';
import type { RateLimits } from './rateLimit';

export const BODY_LIMIT = '8kb';

const parse = bodyParser({
  enableTypes: ['json', 'form'],
  jsonLimit: BODY_LIMIT,
  formLimit: BODY_LIMIT,
  encoding: 'utf-8',
  // Form fields with a `__proto__` or `constructor` name stay plain data.
  extendTypes: {},
});

/** Parses JSON and form-encoded bodies (the shipped widget posts form-encoded); anything else is 415. */
export function tokenBody(): Middleware {
  return async (ctx, next) => {
    if (!ctx.is('application/json', 'application/x-www-form-urlencoded')) {
      throw new AppError(
        'unsupported_media_type',
        'Send application/json or application/x-www-form-urlencoded.',
      );
    }
    await parse(ctx, next);
  };
}

/** The token of a refresh request: `token` in JSON, `Token` in the widget's form posts. */
export function readToken(ctx: Context): string {
  return readField(ctx, 'token', 'Token', refreshTokenSchema);
}

/**
 * The deployment key of a token request: `deploymentKey` in JSON, `DeploymentKey` in the widget's form
 * posts (either spelling is taken from either). Other widget fields are accepted and ignored.
 */
function readDeploymentKey(ctx: Context): string {
  return readField(ctx, 'deploymentKey', 'DeploymentKey', deploymentKeySchema);
}

function readField(ctx: Context, camel: string, pascal: string, schema: z.ZodType<string>): string {
  const body: unknown = ctx.request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('invalid_request', `The body must be an object with a ${camel}.`);
  }
  const fields = body as Record<string, unknown>;
  const given = Object.hasOwn(fields, camel)
    ? fields[camel]
    : Object.hasOwn(fields, pascal)
      ? fields[pascal]
      : undefined;
  if (given === undefined) throw new AppError('invalid_request', `${camel} is required.`);
  const parsed = schema.safeParse(given);
  if (!parsed.success) {
    throw new AppError('invalid_request', parsed.error.issues[0]?.message ?? `${camel} is invalid.`);
  }
  return parsed.data;
}

/** The per-client-IP limit, applied before the body is even read: a limited request starts no workflow. */
export function perClientIp(rateLimits: RateLimits | undefined): Middleware {
  return rateLimits ? rateLimits.clientIp.middleware(clientIpOf) : (_ctx, next) => next();
}

/**
 * What every token request (issue or refresh) carries into its run: the request id, the deployment key, the
 * `Origin` and the fingerprint signals, plus the route's own fields (`more`). Every field is validated before
 * the key is counted against its per-key limit, so a malformed request spends no one's budget.
 */
export async function readTokenRequest<T extends object = object>(
  ctx: Context,
  rateLimits: RateLimits | undefined,
  more: (ctx: Context) => T = () => ({}) as T,
): Promise<CreateWebchatTokenInput & T> {
  const deploymentKey = readDeploymentKey(ctx);
  const fields = more(ctx);
  await rateLimits?.deploymentKey.consume(deploymentKey, clientIpOf(ctx));
  return {
    ...fields,
    requestId: ctx.state.requestId as string,
    deploymentKey,
    origin: ctx.get('origin') || null,
    signals: collectSignals(ctx.headers, clientIpOf(ctx)),
  };
}
