import { Pool } from 'undici';
import type { z } from 'zod';
import {
  issuedTokenSchema,
  sasRefreshResponseSchema,
  sasValidateInternalResponseSchema,
  type IssuedToken,
  type SasGenerateRequest,
  type SasRefreshRequest,
  type SasRefreshResponse,
  type SasValidateInternalResponse,
} from '../../domain/contracts';
import { AppError } from '../../domain/errors';
import type { ServiceCredentials } from '../../lib/serviceAuth';

export interface SasClient {
  /** `POST /v1/ScopedAuthTokens/generate/internal`; `requestId` is forwarded as `X-Request-Id`. */
  generate(request: SasGenerateRequest, requestId: string): Promise<IssuedToken>;
  /** `POST /v1/ScopedAuthTokens/validate/internal`: the validate answer plus the token's binding level. */
  validate(
    request: { token: string; fingerprint?: string | undefined },
    requestId: string,
  ): Promise<SasValidateInternalResponse>;
  /** `POST /v1/ScopedAuthTokens/refresh/internal`: the successor, or SAS's refusal (an answer, not an error). */
  refresh(request: SasRefreshRequest, requestId: string): Promise<SasRefreshResponse>;
  close(): Promise<void>;
}

export interface SasClientOptions {
  /** SAS base URL, e.g. `http://127.0.0.1:3002`; a path prefix is kept. */
  baseUrl: string;
  /** Deadline for the whole call: connect, headers and body. */
  timeoutMs: number;
  /** FAS's credentials for SAS: one, made for the call, as `Authorization` on every call. */
  credentials: ServiceCredentials;
  /** Keep-alive connections kept open to SAS. */
  connections?: number;
}

/**
 * HTTP client for the scoped auth service over a keep-alive pool. Failures are `AppError`s the error
 * middleware can answer with directly: SAS unreachable, slow or failing is `unavailable` (503, retry in a
 * second); SAS refusing a request FAS already validated (our credential included), or answering nonsense, is
 * `bad_gateway` (502).
 */
export function createSasClient({
  baseUrl,
  timeoutMs,
  credentials,
  connections = 32,
}: SasClientOptions): SasClient {
  const url = new URL(baseUrl);
  const prefix = url.pathname.replace(/\/+$/, '');
  // Shorter than the server's 5 s keep-alive (lib/http/serve.ts), so we never reuse a socket it is closing.
  const pool = new Pool(url.origin, { connections, keepAliveTimeout: 4_000 });

  async function call<S extends z.ZodType>(
    path: string,
    body: unknown,
    requestId: string,
    reply: S,
    what: string,
  ): Promise<z.infer<S>> {
    let status: number;
    let text: string;
    const target = `${prefix}${path}`;
    const sent = JSON.stringify(body);
    try {
      const res = await pool.request({
        method: 'POST',
        path: target,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          // For this request only: its method, path and body, once (lib/serviceAuth.ts).
          authorization: await credentials.authorization({ method: 'POST', path: target, body: sent }),
          'x-request-id': requestId,
        },
        body: sent,
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw withCause(unavailable(), err);
    }
    if (status >= 500) throw withCause(unavailable(), new Error(`SAS answered HTTP ${status}`));
    if (status !== 200) {
      throw withCause(
        new AppError('bad_gateway', 'The token service refused the request.'),
        new Error(`SAS answered HTTP ${status} on ${path}`),
      );
    }
    const parsed = reply.safeParse(parseJson(text));
    if (!parsed.success) {
      throw withCause(
        new AppError('bad_gateway', 'The token service sent an invalid reply.'),
        new Error(`SAS answered 200 on ${path} without a well-formed ${what}`),
      );
    }
    return parsed.data;
  }

  return {
    generate: (request, requestId) =>
      call(
        '/v1/ScopedAuthTokens/generate/internal',
        request,
        requestId,
        issuedTokenSchema,
        '{token, identity, expiration}',
      ),
    validate: (request, requestId) =>
      call(
        '/v1/ScopedAuthTokens/validate/internal',
        request,
        requestId,
        sasValidateInternalResponseSchema,
        'validate answer',
      ),
    refresh: (request, requestId) =>
      call(
        '/v1/ScopedAuthTokens/refresh/internal',
        request,
        requestId,
        sasRefreshResponseSchema,
        'refresh answer',
      ),
    close: () => pool.close(),
  };
}

const unavailable = () =>
  new AppError('unavailable', 'The token service is unavailable; retry shortly.', { 'Retry-After': '1' });

/** Keeps the underlying failure for the 5xx log line without exposing it to the client. */
function withCause(err: AppError, cause: unknown): AppError {
  err.cause = cause;
  return err;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
