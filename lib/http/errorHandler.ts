import type { Middleware } from 'koa';
import { AppError, type ErrorCode } from '../../domain/errors';
import type { Logger } from '../logger';
import type { ErrorBody } from '../../domain/publicContract';

/** Statuses Koa and its middleware raise themselves (http-errors), mapped to our stable codes. */
const codeForStatus: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  503: 'unavailable',
};

/**
 * First middleware in every service: turns any thrown error into JSON `{code, message}`. Only messages of
 * `AppError`s (ours, written for clients) are sent; anything else becomes a generic message, and a 5xx is
 * logged with its stack. Also turns Koa's empty 404 into the same JSON shape.
 */
export function errorHandler(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppError('not_found', 'No such route.');
      }
    } catch (err) {
      const { status, code, message, headers } = describe(err);
      if (status >= 500) log.error({ err, requestId: ctx.state.requestId as unknown }, 'request failed');
      ctx.status = status;
      ctx.set(headers);
      const body: ErrorBody = { code, message };
      ctx.body = body;
    }
  };
}

function describe(err: unknown): {
  status: number;
  code: ErrorCode;
  message: string;
  headers: Record<string, string>;
} {
  if (err instanceof AppError) {
    return { status: err.status, code: err.code, message: err.message, headers: err.headers };
  }
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = codeForStatus[status] ?? 'invalid_request';
    return { status, code, message: defaultMessage[code] ?? 'The request was not accepted.', headers: {} };
  }
  return { status: 500, code: 'internal', message: 'Internal error.', headers: {} };
}

const defaultMessage: Partial<Record<ErrorCode, string>> = {
  invalid_request: 'The request body is malformed.',
  payload_too_large: 'The request body is too large.',
  unsupported_media_type: 'Send application/json or application/x-www-form-urlencoded.',
  not_found: 'No such route.',
  method_not_allowed: 'Method not allowed.',
  unauthorized: 'Unauthorized.',
};
