import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { AppError } from '../domain/errors';
import type { ClientAddress } from '../lib/http/clientAddress';
import type { Logger } from '../lib/logger';
import { forwardedHeaders, relayedHeaders } from './forwardedHeaders';
import { describeError, sendError } from './replies';
import type { Upstream, Upstreams } from './upstreams';

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

export interface ProxyOptions {
  upstreams: Upstreams;
  clients: ClientAddress;
  /** How long to wait for the API's response headers (and, once it answers, for each body chunk). */
  timeoutMs: number;
  /** Largest request body forwarded; larger gets 413. */
  maxBodyBytes: number;
  logger: Logger;
}

/**
 * Sends the request to an API instance and relays its answer: the whole body first (bounded), then the
 * instances in `Upstreams.order()` within one deadline, retrying on another instance when a connection was
 * refused (and, for a request safe to repeat, when it broke); 503 + `Retry-After` when none answered.
 */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  opts: ProxyOptions,
): Promise<void> {
  const abort = new AbortController();
  // The client went away before its whole answer: stop the upstream request too.
  res.once('close', () => {
    if (!res.writableFinished) abort.abort(new Error('client closed'));
  });
  // Reading the body is bounded by the server's request timeout (408); then one deadline covers every
  // attempt, up to the API's response headers.
  const body = await readBody(req, res, opts.maxBodyBytes);
  if (body === undefined || res.destroyed) return;
  const deadline = setTimeout(() => abort.abort(new Error('timeout')), opts.timeoutMs);
  const headers = forwardedHeaders(req, requestId, opts.clients);
  const { answer, lastError } = await firstAnswer(req, headers, body, abort.signal, opts);
  clearTimeout(deadline);
  if (answer) {
    relay(answer, res);
    return;
  }
  if (res.destroyed) return;
  const reason = abort.signal.aborted ? 'timeout' : 'upstream error';
  opts.logger.warn({ requestId, reason, error: describeError(lastError) }, 'upstream unavailable');
  sendError(
    res,
    new AppError('unavailable', 'The service is unavailable, try again.', { 'Retry-After': '1' }),
  );
}

/** The retry loop: the first instance's answer, or the last error when none answered. */
async function firstAnswer(
  req: IncomingMessage,
  headers: IncomingHttpHeaders,
  body: Buffer,
  signal: AbortSignal,
  { upstreams, timeoutMs }: ProxyOptions,
): Promise<{ answer?: Dispatcher.ResponseData; lastError?: unknown }> {
  let lastError: unknown;
  for (const upstream of upstreams.order()) {
    try {
      return { answer: await send(upstream, req, headers, body, signal, timeoutMs) };
    } catch (err) {
      lastError = err;
      if (signal.aborted) break;
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (notConnected.has(code)) {
        upstreams.refused(upstream, code);
        continue; // never reached the instance: another one may answer
      }
      // It may have reached the instance: only a request that is safe to repeat goes to another one.
      if (isIdempotent(req) && connectionLost.has(code)) continue;
      break;
    }
  }
  return { lastError };
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

/**
 * Sends the API's answer to the client, body streamed; an API that dies mid-body cuts the client off too. An
 * answer that arrives once the edge is closing ends its connection (lib/http/serve.ts set `Connection: close`).
 */
function relay(answer: Dispatcher.ResponseData, res: ServerResponse): void {
  if (res.destroyed) {
    answer.body.destroy();
    return;
  }
  for (const [name, value] of Object.entries(relayedHeaders(answer))) {
    if (value !== undefined) res.setHeader(name, value);
  }
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
