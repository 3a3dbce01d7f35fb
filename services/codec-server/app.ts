import Router from '@koa/router';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { JSONToPayload, payloadToJSON, type JSONPayload } from '@temporalio/common/lib/proto-utils';
import Koa from 'koa';
import { AppError } from '../../domain/errors';
import { accessLog } from '../../lib/http/accessLog';
import { errorHandler } from '../../lib/http/errorHandler';
import { jsonBody } from '../../lib/http/jsonBody';
import { requestId } from '../../lib/http/requestId';
import type { Logger } from '../../lib/logger';

/**
 * The codec server the Temporal UI (and `temporal --codec-endpoint`) calls to show decrypted payloads to an
 * operator: `POST /decode` and `POST /encode` with `{payloads: [...]}` in proto3 JSON. Browsers reach it from the
 * UI's origin, so it answers CORS for the configured UI origins only.
 */
export function createCodecServerApp({
  codec,
  corsOrigins,
  logger,
}: {
  codec: PayloadCodec;
  corsOrigins: string[];
  logger: Logger;
}): Koa {
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
  router.post(
    '/encode',
    transform((p) => codec.encode(p)),
  );
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  app
    .use(async (ctx, next) => {
      const origin = ctx.get('origin');
      if (origin && corsOrigins.includes(origin)) {
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
      ctx.set('Cache-Control', 'no-store');
      await next();
    })
    .use(requestId())
    .use(accessLog(logger))
    .use(errorHandler(logger))
    .use(jsonBody('4mb'))
    .use(router.routes())
    .use(router.allowedMethods());
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
