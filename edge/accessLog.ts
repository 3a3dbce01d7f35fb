import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../lib/logger';

/** A balancer's health probe every second is logged at debug, so it does not drown the requests. */
const probePaths = new Set(['/healthz', '/readyz']);

/**
 * One line per request once its response is done (or cut off): method, path (never the query), status,
 * duration, request id, and `aborted` when the client did not get the whole answer; never headers or bodies.
 * The edge's counterpart of the Koa services' lib/http/accessLog.ts.
 */
export function logRequestWhenDone(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  { requestId, path }: { requestId: string; path: string },
): void {
  const started = performance.now();
  res.once('close', () => {
    const probe = probePaths.has(path) && res.statusCode < 400;
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
}
