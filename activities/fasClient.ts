import type { FasRefreshRequest, FasRefreshResult, FasTokenRequest, IssuedToken } from '../domain/contracts';
import { issuedTokenSchema, refreshRefusalSchema } from '../domain/contracts';
import {
  createServiceClient,
  okBody,
  type ServiceClientOptions,
  type ServiceReply,
} from '../lib/http/serviceClient';

/** FAS answered, but refused the request: retrying the same request cannot succeed. */
export class FasRejectedError extends Error {
  override readonly name = 'FasRejectedError';
  constructor(readonly status: number) {
    super(`FAS refused the token request with HTTP ${status}`);
  }
}

/** Each call stops (and throws) when `signal` aborts: the activity was cancelled, or its run ended. */
export interface FasClient {
  /** `POST /v1/Accounts/{accountSid}/Tokens`: a new token. */
  postToken(
    accountSid: string,
    body: FasTokenRequest,
    requestId: string,
    signal?: AbortSignal,
  ): Promise<IssuedToken>;
  /**
   * `POST /v1/Accounts/{accountSid}/Tokens/refresh`: the token's successor. A 403 refusal (`invalid_token`,
   * `fingerprint_validation_failed`, `invalid_dpop_proof`) resolves; it is an answer, not a fault.
   */
  postRefresh(
    accountSid: string,
    body: FasRefreshRequest,
    requestId: string,
    signal?: AbortSignal,
  ): Promise<FasRefreshResult>;
  close(): Promise<void>;
}

export type FasClientOptions = Omit<ServiceClientOptions, 'service'>;

/**
 * The federated auth service's client, on the internal service client (lib/http/serviceClient.ts), with the
 * orchestrator's credentials. What Temporal must not retry throws `FasRejectedError`: a 4xx (except the refresh
 * refusals above), or FAS's 502 `bad_gateway` (SAS refused the request). Everything else that fails, no answer in
 * time, another 5xx or a 200 without a token, throws the client's `ServiceTransportError` or `ServiceReplyError`,
 * which Temporal retries.
 */
export function createFasClient({ connections = 64, ...options }: FasClientOptions): FasClient {
  const client = createServiceClient({ ...options, connections, service: 'federated-auth' });
  const tokensPath = (accountSid: string) => `/v1/Accounts/${encodeURIComponent(accountSid)}/Tokens`;

  return {
    async postToken(accountSid, body, requestId, signal) {
      const reply = await client.post(tokensPath(accountSid), body, { requestId, signal });
      rejectRefused(reply);
      return okBody(reply, issuedTokenSchema);
    },

    async postRefresh(accountSid, body, requestId, signal) {
      const reply = await client.post(`${tokensPath(accountSid)}/refresh`, body, { requestId, signal });
      if (reply.status === 403) {
        const refusal = refreshRefusalSchema.safeParse(reply.body);
        if (!refusal.success) throw new FasRejectedError(403);
        return { outcome: 'refused', code: refusal.data.code, message: refusal.data.message };
      }
      rejectRefused(reply);
      return { outcome: 'refreshed', ...okBody(reply, issuedTokenSchema) };
    },

    close: () => client.close(),
  };
}

/** Throws `FasRejectedError` for an answer a retry of the same request cannot change. */
function rejectRefused({ status, body }: ServiceReply): void {
  if (status === 200) return;
  if (status < 500) throw new FasRejectedError(status);
  // FAS says bad_gateway when SAS refused the request: the same request cannot succeed on a retry.
  if ((body as { code?: unknown } | undefined)?.code === 'bad_gateway') throw new FasRejectedError(status);
}
