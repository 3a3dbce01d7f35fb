import type { ServerResponse } from 'node:http';
import type { AppError } from '../domain/errors';

/** The edge's own answers: JSON `{code, message}` with ACAO `*`, as every service's errors. */
export function sendError(res: ServerResponse, error: AppError): void {
  sendJson(res, error.status, { code: error.code, message: error.message }, error.headers);
}

export function sendJson(
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
export function describeError(err: unknown): { code?: unknown; message: string } | undefined {
  if (!(err instanceof Error)) return undefined;
  return { code: (err as NodeJS.ErrnoException).code, message: err.message };
}
