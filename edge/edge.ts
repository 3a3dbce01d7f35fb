import { randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { AppError } from '../domain/errors';
import { answerClientError, hardenedServerOptions } from '../lib/http/serve';
import type { Logger } from '../lib/logger';
import { ClientAddress, plainAddress } from '../lib/http/clientAddress';
import { Upstreams, type Upstream } from './upstreams';
import { requestIdSchema } from '../domain/publicContract';

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
  /** A request that takes longer than this to arrive gets 408. */
  requestTimeoutMs?: number;
  logger: Logger;
}

/** The only public routes the edge forwards; everything else stays internal. */
const forwardedPrefix = '/v2/Webchat/';
/** The API's OpenAPI document, forwarded so that it always describes the API behind this edge. */
const documentPath = '/openapi.json';
/** The paths the edge serves besides the forwarded ones, each for GET and HEAD only. */
const ownPaths = new Set([documentPath, '/healthz', '/readyz']);

/**
 * Request headers never forwarded as the client wrote them: hop-by-hop headers (RFC 9110 §7.6.1; `expect` too,
 * since Node has already answered `100 Continue`), the body framing (the edge sends the body it read with its
 * own length), every forwarding header a client could forge (the API trusts the first `X-Forwarded-For` hop
 * only because the edge writes it), and a client's trace context (the edge starts its own trace: a client must
 * not be able to join, or flood, someone else's).
 */
const droppedRequestHeaders = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'transfer-encoding',
  'content-length',
  'forwarded',
  'x-real-ip',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
]);
const traceHeaders = ['traceparent', 'tracestate', 'baggage'];

/** Response headers that describe the API's connection with the edge, not the edge's with the client. */
const droppedResponseHeaders = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'trailer',
];

/** Connection failures that prove the request never reached the instance: safe to send to another one. */
const notConnected = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The connection broke before an answer came: the instance may or may not have taken the request. */
const connectionLost = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/**
 * Starship: the public entry. Forwards `/v2/Webchat/*` and `GET /openapi.json` to the API instances over
 * keep-alive connections (undici), answers `/healthz` and `/readyz` itself, 405 for another method on those
 * three, and 404 for the rest. Returns a server that is not listening yet; its health checks of the APIs run
 * while it listens.
 */
export function createEdge({
  apiUrls,
  timeoutMs,
  healthIntervalMs = 1_000,
  trustedProxies = [],
  maxBodyBytes = 65_536,
  requestTimeoutMs = 15_000,
  logger,
}: EdgeOptions): http.Server {
  // A connect that hangs (a host gone without a reset) gives up early enough to try another instance in time.
  const upstreams = new Upstreams(apiUrls, {
    connectTimeoutMs: Math.min(timeoutMs, 2_000),
    intervalMs: healthIntervalMs,
    logger,
  });
  const clients = new ClientAddress(trustedProxies);

  const unavailable = (res: ServerResponse, reason: string, err?: unknown) => {
    logger.warn({ requestId: requestIdOf(res), reason, error: describeError(err) }, 'upstream unavailable');
    sendError(
      res,
      new AppError('unavailable', 'The service is unavailable, try again.', { 'Retry-After': '1' }),
    );
  };

  const forward = async (req: IncomingMessage, res: ServerResponse, requestId: string) => {
    const abort = new AbortController();
    // The client went away before its whole answer: stop the upstream request too.
    res.once('close', () => {
      if (!res.writableFinished) abort.abort(new Error('client closed'));
    });
    // Reading the body is bounded by the server's request timeout (408); then one deadline covers every
    // attempt, up to the API's response headers.
    const body = await readBody(req, res, maxBodyBytes);
    if (body === undefined || res.destroyed) return;
    const deadline = setTimeout(() => abort.abort(new Error('timeout')), timeoutMs);
    const headers = forwardedHeaders(req, requestId, clients);
    const canRetrySent = isIdempotent(req);
    let answer: Dispatcher.ResponseData | undefined;
    let lastError: unknown;
    for (const upstream of upstreams.order()) {
      try {
        answer = await send(upstream, req, headers, body, abort.signal, timeoutMs);
        break;
      } catch (err) {
        lastError = err;
        if (abort.signal.aborted) break;
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (notConnected.has(code)) {
          upstreams.refused(upstream, code);
          continue; // never reached the instance: another one may answer
        }
        // It may have reached the instance: only a request that is safe to repeat goes to another one.
        if (canRetrySent && connectionLost.has(code)) continue;
        break;
      }
    }
    clearTimeout(deadline);
    if (!answer) {
      if (!res.destroyed) unavailable(res, abort.signal.aborted ? 'timeout' : 'upstream error', lastError);
      return;
    }
    // The edge may have started closing while the API worked: this answer then ends the connection.
    if (!server.listening) res.setHeader('Connection', 'close');
    relay(answer, res);
  };

  const server = http.createServer(hardenedServerOptions(requestTimeoutMs), (req, res) => {
    const started = performance.now();
    const requestId = chooseRequestId(req.headers['x-request-id']);
    const path = pathOf(req.url);
    res.setHeader('X-Request-Id', requestId);
    // Once `close()` was called, no connection stays open for another request: shutdown does not wait for
    // keep-alive timeouts (Node's server.close() only closes connections that are idle at that moment).
    if (!server.listening) res.setHeader('Connection', 'close');
    res.once('finish', () => {
      if (!server.listening) req.socket.end();
    });
    res.once('close', () => {
      // A balancer's health probe every second is logged at debug, so it does not drown the requests.
      const probe = (path === '/healthz' || path === '/readyz') && res.statusCode < 400;
      logger[probe ? 'debug' : 'info'](
        {
          requestId,
          method: req.method,
          path: path.slice(0, 256),
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
          ...(res.writableFinished ? {} : { aborted: true }),
        },
        'request',
      );
    });

    const forwardNow = () =>
      forward(req, res, requestId).catch((err: unknown) => {
        logger.error({ requestId, error: describeError(err) }, 'forwarding failed');
        sendError(res, new AppError('internal', 'Internal error.'));
      });
    if (isForwardable(path)) {
      // The API answers every method of its routes itself, 405 with Allow included.
      void forwardNow();
    } else if (!ownPaths.has(path)) {
      sendError(res, new AppError('not_found', 'No such route.'));
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, new AppError('method_not_allowed', 'Method not allowed.', { Allow: 'GET, HEAD' }));
    } else if (path === documentPath) {
      void forwardNow();
    } else if (path === '/readyz') {
      // Ready while it accepts and some API is in rotation: a balancer in front of several edges skips one
      // that could only answer 503.
      const ready = server.listening && upstreams.all.some((u) => u.healthy);
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not_ready' });
    } else {
      sendJson(res, 200, { status: 'ok' });
    }
  });
  // The client's trace context goes before node:http's instrumentation (lib/telemetry.ts) reads it, which it
  // does in Server.prototype.emit: so the edge's server span starts a trace of its own, and every hop after it
  // (the API, the workflow, FAS, SAS) joins that one.
  const emit = server.emit.bind(server);
  server.emit = ((event: string, ...args: unknown[]) => {
    if (event === 'request')
      for (const name of traceHeaders) delete (args[0] as IncomingMessage).headers[name];
    return emit(event, ...args);
  }) as typeof server.emit;
  // Malformed, oversized and slow requests get our JSON error, like every other service (lib/http/serve.ts).
  server.on('clientError', answerClientError);
  server.on('listening', () => upstreams.start());
  server.on('close', () => void upstreams.close());
  return server;
}

/**
 * Reads the whole request body (bounded): a body is sent to an instance only once it is complete, so a refused
 * connection can be retried on another instance, and a slow client holds no connection to the API. Answers 413
 * and returns undefined when the body is too large; returns undefined when the client went away.
 */
async function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
): Promise<Buffer | undefined> {
  const tooLarge = () => {
    res.setHeader('Connection', 'close');
    sendError(res, new AppError('payload_too_large', 'The request body is too large.'));
    req.resume(); // discard the rest, so the client reads the answer instead of a reset
  };
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
    tooLarge();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of req) {
      length += (chunk as Buffer).length;
      if (length > maxBytes) {
        tooLarge();
        return undefined;
      }
      chunks.push(chunk as Buffer);
    }
  } catch {
    return undefined; // the client aborted, or Node cut it off (408 from answerClientError)
  }
  return req.complete ? Buffer.concat(chunks, length) : undefined;
}

function send(
  upstream: Upstream,
  req: IncomingMessage,
  headers: IncomingHttpHeaders,
  body: Buffer,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<Dispatcher.ResponseData> {
  const method = req.method ?? 'GET';
  return upstream.pool.request({
    method,
    path: req.url ?? '/',
    headers,
    body: body.length > 0 || ['POST', 'PUT', 'PATCH'].includes(method) ? body : null,
    signal,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}

/** Sends the API's answer to the client, body streamed; an API that dies mid-body cuts the client off too. */
function relay(answer: Dispatcher.ResponseData, res: ServerResponse): void {
  const headers = { ...answer.headers };
  for (const name of droppedResponseHeaders) delete headers[name];
  // The source design: "If ACAO header exists, then passes through, else sets to *".
  if (headers['access-control-allow-origin'] === undefined) headers['access-control-allow-origin'] = '*';
  if (res.destroyed) {
    answer.body.destroy();
    return;
  }
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value);
  res.writeHead(answer.statusCode);
  answer.body.on('error', () => res.destroy());
  res.once('close', () => answer.body.destroy());
  answer.body.pipe(res);
}

/** Methods the edge may send to a second instance after the first may have received them. */
function isIdempotent(req: IncomingMessage): boolean {
  // A token request with an Idempotency-Key is replayed by the API, not run twice (docs/reliability.md, `Idempotency-Key`).
  return (
    ['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? '') || req.headers['idempotency-key'] !== undefined
  );
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

/**
 * The headers sent to the API: the client's, less those above, plus ours. Headers a client names in
 * `Connection` are left alone (as nginx does): ours are written after, and removing e.g. `content-length` on a
 * client's say-so would only open doors.
 */
function forwardedHeaders(
  req: IncomingMessage,
  requestId: string,
  clients: ClientAddress,
): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!droppedRequestHeaders.has(name) && !traceHeaders.includes(name)) headers[name] = value;
  }
  const peer = req.socket.remoteAddress ?? '';
  headers['x-forwarded-for'] = clients.resolve(peer, req.headers['x-forwarded-for']);
  const encrypted = 'encrypted' in req.socket && req.socket.encrypted;
  // Behind a trusted balancer that terminates TLS, the scheme the client used is the balancer's to tell.
  const claimed = String(req.headers['x-forwarded-proto'] ?? '')
    .split(',')
    .pop()
    ?.trim();
  headers['x-forwarded-proto'] =
    clients.isTrusted(plainAddress(peer)) && (claimed === 'https' || claimed === 'http')
      ? claimed
      : encrypted
        ? 'https'
        : 'http';
  if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
  headers['x-request-id'] = requestId;
  return headers;
}

function requestIdOf(res: ServerResponse): string {
  return String(res.getHeader('x-request-id'));
}

function sendError(res: ServerResponse, error: AppError): void {
  sendJson(res, error.status, { code: error.code, message: error.message }, error.headers);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: object,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed || res.writableEnded) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Access-Control-Allow-Origin': '*',
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** Code and message only (not pino's `err` serializer): a stack of Node's socket internals is noise here. */
function describeError(err: unknown): { code?: unknown; message: string } | undefined {
  if (!(err instanceof Error)) return undefined;
  return { code: (err as NodeJS.ErrnoException).code, message: err.message };
}
