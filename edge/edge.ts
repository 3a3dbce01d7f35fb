import { randomUUID } from 'node:crypto';
import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import httpProxy from 'http-proxy';
import { AppError } from '../domain/errors';
import type { Logger } from '../lib/logger';

export interface EdgeOptions {
  /** Base URL of the API (FWO), without a trailing slash. */
  apiUrl: string;
  /** How long to wait for the API's response headers (and, once it answers, for each body chunk). */
  timeoutMs: number;
  logger: Logger;
}

/** The only public routes the edge forwards; everything else stays internal. */
const forwardedPrefix = '/v2/Webchat/';
const wellFormedRequestId = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * Request headers never forwarded as the client wrote them: hop-by-hop headers (RFC 9110 §7.6.1; `expect` too,
 * since Node has already answered `100 Continue`) and every forwarding header a client could forge. The API
 * trusts the first `X-Forwarded-For` hop only because the edge writes it.
 */
const droppedRequestHeaders = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'forwarded',
  'x-real-ip',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
];

/** What the edge knows about one forwarded request, so a timeout and an upstream error settle it only once. */
interface Exchange {
  /** The client's own `Connection` header; it is not forwarded, but decides the answer's `Connection`. */
  clientConnection: string;
  upstream?: ClientRequest;
  deadline?: NodeJS.Timeout;
  settled: boolean;
}

/**
 * Starship: the public entry. Forwards `/v2/Webchat/*` to the API over keep-alive connections, answers
 * `/healthz` itself and 404 for the rest. Returns a server that is not listening yet.
 */
export function createEdge({ apiUrl, timeoutMs, logger }: EdgeOptions): http.Server {
  const agentOptions = { keepAlive: true };
  const agent = apiUrl.startsWith('https:') ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  // `xfwd` stays off: http-proxy would append to a client's forged X-Forwarded-For instead of replacing it.
  const proxy = httpProxy.createProxyServer({ target: apiUrl, agent, proxyTimeout: timeoutMs, xfwd: false });
  const exchanges = new WeakMap<IncomingMessage, Exchange>();

  const settle = (req: IncomingMessage): Exchange | undefined => {
    const exchange = exchanges.get(req);
    if (!exchange || exchange.settled) return undefined;
    exchange.settled = true;
    clearTimeout(exchange.deadline);
    return exchange;
  };

  const unavailable = (req: IncomingMessage, res: ServerResponse, reason: string, err?: unknown) => {
    const exchange = settle(req);
    if (!exchange) return;
    logger.warn({ requestId: requestIdOf(res), reason, error: describeError(err) }, 'upstream unavailable');
    exchange.upstream?.destroy();
    sendError(
      res,
      new AppError('unavailable', 'The service is unavailable, try again.', { 'Retry-After': '1' }),
    );
  };

  proxy.on('proxyReq', (proxyReq, req) => {
    const exchange = exchanges.get(req);
    if (!exchange) return;
    // The socket may arrive after the deadline already answered 503: do not send the request at all then.
    if (exchange.settled) proxyReq.destroy();
    else exchange.upstream = proxyReq;
  });

  proxy.on('proxyRes', (proxyRes, req, res) => {
    const exchange = settle(req);
    if (!exchange) {
      proxyRes.destroy();
      return;
    }
    // The source design: "If ACAO header exists, then passes through, else sets to *".
    if (proxyRes.headers['access-control-allow-origin'] === undefined) {
      proxyRes.headers['access-control-allow-origin'] = '*';
    }
    // Connection headers are per hop: the API's keep-alive with the edge says nothing about the client's.
    // http-proxy would otherwise copy the API's (or force keep-alive), even while the edge shuts down.
    delete proxyRes.headers['keep-alive'];
    const close = !server.listening || /(^|,)\s*close\s*(,|$)/i.test(exchange.clientConnection);
    proxyRes.headers.connection = close ? 'close' : 'keep-alive';
    // An API that dies mid-body must not leave the client waiting for the rest.
    proxyRes.once('close', () => {
      if (!proxyRes.complete) res.destroy();
    });
  });

  proxy.on('error', (err, req, res) => {
    if (res instanceof http.ServerResponse) {
      // After the status line went out, the only honest signal left is to cut the connection.
      if (res.headersSent) res.destroy();
      else unavailable(req, res, 'upstream error', err);
    } else {
      res.destroy();
    }
  });

  const forward = (req: IncomingMessage, res: ServerResponse, requestId: string) => {
    const exchange: Exchange = { clientConnection: String(req.headers.connection ?? ''), settled: false };
    exchanges.set(req, exchange);
    setForwardingHeaders(req, requestId);
    // Covers what `proxyTimeout` cannot: a connect that never completes and a wait for a pooled socket.
    exchange.deadline = setTimeout(() => unavailable(req, res, 'timeout'), timeoutMs);
    res.once('close', () => {
      clearTimeout(exchange.deadline);
      // The client went away before its whole answer: stop the upstream request too. (After a complete
      // upstream response Node has already marked the request destroyed and pooled its socket: a no-op then.)
      if (!res.writableFinished) {
        exchange.settled = true;
        exchange.upstream?.destroy();
      }
    });
    proxy.web(req, res);
  };

  const server = http.createServer((req, res) => {
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
      logger.info(
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

    if (isForwardable(path)) {
      forward(req, res, requestId);
    } else if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      sendJson(res, 200, { status: 'ok' });
    } else {
      sendError(res, new AppError('not_found', 'No such route.'));
    }
  });
  // Slow clients (slowloris) are cut off instead of holding a socket forever; same limits as lib/http/serve.ts.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.on('close', () => agent.destroy());
  return server;
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
  return typeof given === 'string' && wellFormedRequestId.test(given) ? given : randomUUID();
}

function setForwardingHeaders(req: IncomingMessage, requestId: string): void {
  const headers = req.headers;
  // http-proxy builds the upstream request from `req.headers`, so this is where they are replaced. Headers a
  // client names in `Connection` are left alone (as nginx does): ours are written after, and removing e.g.
  // `content-length` on a client's say-so would only open doors.
  for (const name of droppedRequestHeaders) delete headers[name];
  const address = req.socket.remoteAddress;
  // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; the API expects the plain address.
  if (address) headers['x-forwarded-for'] = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  headers['x-forwarded-proto'] = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  if (headers.host) headers['x-forwarded-host'] = headers.host;
  headers['x-request-id'] = requestId;
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
