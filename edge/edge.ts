import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AppError } from '../domain/errors';
import { requestIdSchema } from '../domain/publicContract';
import { ClientAddress } from '../lib/http/clientAddress';
import type { Logger } from '../lib/logger';
import { logRequestWhenDone } from './accessLog';
import { forward } from './proxy';
import { describeError, sendError, sendJson } from './replies';
import { Upstreams } from './upstreams';

export interface EdgeOptions {
  /** Base URLs of the API instances, without a trailing slash. */
  apiUrls: readonly string[];
  /** How long to wait for the API's response headers (and, once it answers, for each body chunk). */
  timeoutMs: number;
  /** How often each API's /readyz is asked. */
  healthIntervalMs?: number;
  /** CIDR blocks of the load balancers whose X-Forwarded-For hops are believed. */
  trustedProxies?: readonly string[];
  /** Largest request body forwarded; larger gets 413. */
  maxBodyBytes?: number;
  logger: Logger;
}

export interface Edge {
  /** The request listener lib/http/serve.ts runs. */
  handle: RequestListener;
  /** Starts asking the APIs' /readyz: once listening. */
  start(): void;
  /** From now on /readyz answers 503: called when the server starts closing. */
  stopAccepting(): void;
  /** Releases the connections to the APIs: once the server has closed. */
  release(): Promise<void>;
}

/** The only public routes the edge forwards; everything else stays internal. */
const forwardedPrefix = '/v2/Webchat/';
/** The API's OpenAPI document, forwarded so that it always describes the API behind this edge. */
const documentPath = '/openapi.json';
/** The paths the edge serves besides the forwarded ones, each for GET and HEAD only. */
const ownPaths = new Set([documentPath, '/healthz', '/readyz']);

/**
 * Starship: the public entry. Forwards `/v2/Webchat/*` and `GET /openapi.json` to the API instances over
 * keep-alive connections (undici, edge/proxy.ts), answers `/healthz` and `/readyz` itself, 405 for another
 * method on those three, and 404 for the rest. Every answer carries `X-Request-Id` (the client's when
 * well-formed) and gets an access line. Listening is lib/http/serve.ts's (edge/start.ts).
 */
export function createEdge({
  apiUrls,
  timeoutMs,
  healthIntervalMs = 1_000,
  trustedProxies = [],
  maxBodyBytes = 65_536,
  logger,
}: EdgeOptions): Edge {
  // A connect that hangs (a host gone without a reset) gives up early enough to try another instance in time.
  const upstreams = new Upstreams(apiUrls, {
    connectTimeoutMs: Math.min(timeoutMs, 2_000),
    intervalMs: healthIntervalMs,
    logger,
  });
  const proxy = { upstreams, clients: new ClientAddress(trustedProxies), timeoutMs, maxBodyBytes, logger };
  let accepting = true;

  const forwardNow = (req: IncomingMessage, res: ServerResponse, requestId: string) => {
    void forward(req, res, requestId, proxy).catch((err: unknown) => {
      logger.error({ requestId, error: describeError(err) }, 'forwarding failed');
      sendError(res, new AppError('internal', 'Internal error.'));
    });
  };

  const handle: RequestListener = (req, res) => {
    const requestId = chooseRequestId(req.headers['x-request-id']);
    const path = pathOf(req.url);
    res.setHeader('X-Request-Id', requestId);
    logRequestWhenDone(logger, req, res, { requestId, path });
    if (isForwardable(path)) {
      // The API answers every method of its routes itself, 405 with Allow included.
      forwardNow(req, res, requestId);
    } else if (!ownPaths.has(path)) {
      sendError(res, new AppError('not_found', 'No such route.'));
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, new AppError('method_not_allowed', 'Method not allowed.', { Allow: 'GET, HEAD' }));
    } else if (path === documentPath) {
      forwardNow(req, res, requestId);
    } else if (path === '/readyz') {
      // Ready while it accepts and some API is in rotation: a balancer in front of several edges skips one
      // that could only answer 503.
      const ready = accepting && upstreams.all.some((u) => u.healthy);
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready' });
    } else {
      sendJson(res, 200, { status: 'ok' });
    }
  };

  return {
    handle,
    start: () => upstreams.start(),
    stopAccepting: () => {
      accepting = false;
    },
    release: () => upstreams.close(),
  };
}

/** The path without the query string (which may carry anything and is never logged). */
function pathOf(url = '/'): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Only `/v2/Webchat/...` in origin form, without dot segments (`..`, `%2e%2e`): a path that a server behind
 * the API might normalise into something outside the public routes is not forwarded.
 */
function isForwardable(path: string): boolean {
  if (!path.startsWith(forwardedPrefix)) return false;
  return !path.split('/').some((segment) => {
    const dots = segment.replace(/%2e/gi, '.');
    return dots === '.' || dots === '..';
  });
}

function chooseRequestId(given: string | string[] | undefined): string {
  return typeof given === 'string' && requestIdSchema.safeParse(given).success ? given : randomUUID();
}
