import { Agent, request } from 'undici';
import type { FasTokenRequest, IssuedToken } from '../lib/contracts';

/** FAS answered, but refused the request: retrying the same request cannot succeed. */
export class FasRejectedError extends Error {
  override readonly name = 'FasRejectedError';
  constructor(readonly status: number) {
    super(`FAS refused the token request with HTTP ${status}`);
  }
}

export interface FasClient {
  requestToken(accountSid: string, body: FasTokenRequest, requestId: string): Promise<IssuedToken>;
  close(): Promise<void>;
}

/**
 * HTTP client for the federated auth service, over one keep-alive connection pool. Network errors, timeouts
 * and 5xx throw plain errors (Temporal retries them); a 4xx throws `FasRejectedError`.
 */
export function createFasClient(baseUrl: string, timeoutMs = 3000): FasClient {
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: 64 });
  return {
    async requestToken(accountSid, body, requestId) {
      const res = await request(`${baseUrl}/v1/Accounts/${encodeURIComponent(accountSid)}/Tokens`, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify(body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
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
      const issued = (await res.body.json()) as IssuedToken;
      if (
        typeof issued.token !== 'string' ||
        typeof issued.identity !== 'string' ||
        typeof issued.expiration !== 'string'
      ) {
        throw new Error('FAS answered 200 without token, identity and expiration');
      }
      return { token: issued.token, identity: issued.identity, expiration: issued.expiration };
    },
    close: () => dispatcher.close(),
  };
}
