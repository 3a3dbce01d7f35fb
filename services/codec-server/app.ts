import Router from '@koa/router';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { JSONToPayload, payloadToJSON, type JSONPayload } from '@temporalio/common/lib/proto-utils';
import Koa from 'koa';
import { AppError } from '../../domain/errors';
import { accessLog } from '../../lib/http/accessLog';
import { errorHandler } from '../../lib/http/errorHandler';
import { jsonBody } from '../../lib/http/jsonBody';
import { methodNotAllowed } from '../../lib/http/methodNotAllowed';
import { ServiceMetrics } from '../../lib/http/metrics';
import { requestId } from '../../lib/http/requestId';
import type { Logger } from '../../lib/logger';
import { requestGuard } from './requestGuard';

export interface CodecServerDeps {
  codec: PayloadCodec;
  /** Origins of the Temporal UI: the only pages that may call, and the only ones CORS answers. */
  corsOrigins: string[];
  /** `Host` values (name:port) the server answers to (`CODEC_ALLOWED_HOSTS`). */
  allowedHosts: string[];
  /** `CODEC_AUTH_TOKEN`: when set, calls must carry `Authorization: Bearer <token>`. */
  authToken?: string;
  /** `CODEC_ALLOW_ENCODE`: serve `POST /encode` (absent: 404, as for any path it does not serve). */
  allowEncode?: boolean;
  logger: Logger;
  /** Serves `GET /metrics` (requests, and refusals by reason); a fresh registry when absent. */
  metrics?: ServiceMetrics;
}

/**
 * The codec server the Temporal UI (and `temporal --codec-endpoint`) calls to show decrypted payloads to an
 * operator: `POST /decode` (and `POST /encode` only with `allowEncode`) with `{payloads: [...]}` in proto3 JSON.
 * What it decrypts holds live tokens, so `requestGuard` refuses any other host name, any other page and, with a
 * token configured, any caller without it; CORS answers the UI's origins only.
 */
export function createCodecServerApp({
  codec,
  corsOrigins,
  allowedHosts,
  authToken,
  allowEncode = false,
  logger,
  metrics = new ServiceMetrics('codec-server'),
}: CodecServerDeps): Koa {
  const app = new Koa();
  app.silent = true;
  const router = new Router();

  const transform = (fn: (p: Payload[]) => Promise<Payload[]>) => async (ctx: Koa.Context) => {
    const payloads = readPayloads(ctx.request.body);
    let result: Payload[];
    try {
      result = await fn(payloads);
    } catch {
      // The cause may name key ids; the UI only needs to know this payload cannot be shown.
      throw new AppError('invalid_request', 'The payloads could not be transformed.');
    }
    ctx.body = { payloads: result.map(payloadToJSON) };
  };
  router.post(
    '/decode',
    transform((p) => codec.decode(p)),
  );
  if (allowEncode) {
    router.post(
      '/encode',
      transform((p) => codec.encode(p)),
    );
  }
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  metrics.route(router);

  app
    .use(metrics.middleware())
    .use(requestId())
    .use(accessLog(logger))
    .use(errorHandler(logger))
    .use(async (ctx, next) => {
      ctx.set('Cache-Control', 'no-store');
      await next();
    })
    .use(requestGuard({ allowedHosts, corsOrigins, authToken, logger, registry: metrics.registry }))
    .use(async (ctx, next) => {
      // Past the guard, an Origin is one of the UI's.
      const origin = ctx.get('origin');
      if (origin) {
        ctx.set('Access-Control-Allow-Origin', origin);
        ctx.set('Access-Control-Allow-Credentials', 'true');
        ctx.vary('Origin');
        if (ctx.method === 'OPTIONS') {
          ctx.set('Access-Control-Allow-Methods', 'POST, OPTIONS');
          ctx.set('Access-Control-Allow-Headers', 'content-type, x-namespace, authorization');
          ctx.set('Access-Control-Max-Age', '7200');
          ctx.status = 204;
          return;
        }
      }
      await next();
    })
    .use(jsonBody(4 * 1024 * 1024))
    .use(router.routes())
    .use(methodNotAllowed(router));
  return app;
}

function readPayloads(body: unknown): Payload[] {
  const payloads = (body as { payloads?: unknown } | undefined)?.payloads;
  if (!Array.isArray(payloads)) throw new AppError('invalid_request', 'Send {"payloads": [...]}.');
  try {
    return payloads.map((p) => JSONToPayload(p as JSONPayload));
  } catch {
    throw new AppError('invalid_request', 'A payload is not valid proto3 JSON.');
  }
}
