import { Agent, request, type Dispatcher } from 'undici';
import type { FasRefreshRequest, FasRefreshResult, FasTokenRequest, IssuedToken } from '../domain/contracts';
import { issuedTokenSchema, refreshRefusalSchema } from '../domain/contracts';
import { requestTarget, type ServiceCredentials } from '../lib/serviceAuth';

/** FAS answered, but refused the request: retrying the same request cannot succeed. */
export class FasRejectedError extends Error {
  override readonly name = 'FasRejectedError';
  constructor(readonly status: number) {
    super(`FAS refused the token request with HTTP ${status}`);
  }
}

/** Each call stops (and throws) when `signal` aborts: the activity was cancelled, or its run ended. */
export interface FasClient {
  requestToken(
    accountSid: string,
    body: FasTokenRequest,
    requestId: string,
    signal?: AbortSignal,
  ): Promise<IssuedToken>;
  /** A 403 refusal (`invalid_token`, `fingerprint_validation_failed`) resolves; it is an answer, not a fault. */
  refreshToken(
    accountSid: string,
    body: FasRefreshRequest,
    requestId: string,
    signal?: AbortSignal,
  ): Promise<FasRefreshResult>;
  close(): Promise<void>;
}

/**
 * HTTP client for the federated auth service, over one keep-alive connection pool, sending a service credential
 * of the orchestrator's, made for that call, on every call. Network errors, timeouts and 5xx throw plain errors (Temporal retries
 * them); a 4xx throws `FasRejectedError`, except the refresh refusals above.
 */
export function createFasClient(
  baseUrl: string,
  timeoutMs: number,
  credentials: ServiceCredentials,
): FasClient {
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: 64 });

  const post = async (path: string, body: unknown, requestId: string, signal?: AbortSignal) => {
    const url = `${baseUrl}${path}`;
    const text = JSON.stringify(body);
    // A credential for this request only: its method, path and body, once (lib/serviceAuth.ts).
    const authorization = await credentials.authorization({
      method: 'POST',
      path: requestTarget(url),
      body: text,
    });
    return request(url, {
      method: 'POST',
      dispatcher,
      signal,
      headers: { 'content-type': 'application/json', authorization, 'x-request-id': requestId },
      body: text,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  };

  const tokensPath = (accountSid: string) => `/v1/Accounts/${encodeURIComponent(accountSid)}/Tokens`;

  return {
    async requestToken(accountSid, body, requestId, signal) {
      const res = await post(tokensPath(accountSid), body, requestId, signal);
      await failOnError(res);
      return issuedToken(await res.body.json());
    },

    async refreshToken(accountSid, body, requestId, signal) {
      const res = await post(`${tokensPath(accountSid)}/refresh`, body, requestId, signal);
      if (res.statusCode === 403) {
        const refusal = refreshRefusalSchema.safeParse(await res.body.json().catch(() => ({})));
        if (refusal.success) {
          return { outcome: 'refused', code: refusal.data.code, message: refusal.data.message };
        }
        throw new FasRejectedError(403);
      }
      await failOnError(res);
      return { outcome: 'refreshed', ...issuedToken(await res.body.json()) };
    },

    close: () => dispatcher.close(),
  };
}

async function failOnError(res: Dispatcher.ResponseData): Promise<void> {
  if (res.statusCode >= 500) {
    const body = (await res.body.json().catch(() => ({}))) as { code?: unknown };
    // FAS says bad_gateway when SAS refused the request: the same request cannot succeed on a retry.
    if (body.code === 'bad_gateway') throw new FasRejectedError(res.statusCode);
    throw new Error(`FAS unavailable: HTTP ${res.statusCode}`);
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new FasRejectedError(res.statusCode);
  }
}

function issuedToken(value: unknown): IssuedToken {
  const issued = issuedTokenSchema.safeParse(value);
  if (!issued.success) throw new Error('FAS answered 200 without token, identity and expiration');
  const { token, identity, expiration } = issued.data;
  return { token, identity, expiration };
}
