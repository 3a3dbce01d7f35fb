import {
  issuedTokenSchema,
  sasRefreshResponseSchema,
  type IssuedToken,
  type SasGenerateRequest,
  type SasRefreshRequest,
  type SasRefreshResponse,
} from '../../domain/contracts';
import { AppError } from '../../domain/errors';
import {
  createServiceClient,
  ServiceReplyError,
  type ServiceClientOptions,
} from '../../lib/http/serviceClient';

export interface SasClient {
  /** `POST /v1/ScopedAuthTokens/generate/internal`; `requestId` is forwarded as `X-Request-Id`. */
  generate(request: SasGenerateRequest, requestId: string): Promise<IssuedToken>;
  /** `POST /v1/ScopedAuthTokens/refresh/internal`: the successor, or SAS's refusal (an answer, not an error). */
  refresh(request: SasRefreshRequest, requestId: string): Promise<SasRefreshResponse>;
  close(): Promise<void>;
}

export type SasClientOptions = Omit<ServiceClientOptions, 'service'>;

/**
 * The scoped auth service's client, on the internal service client (lib/http/serviceClient.ts), with FAS's
 * credentials. Failures are `AppError`s the error middleware can answer with directly: SAS unreachable, slow or
 * failing is `unavailable` (503, retry in a second); SAS refusing a request FAS already validated (our credential
 * included), or answering nonsense, is `bad_gateway` (502). The client's error is kept as the cause, for the 5xx
 * log line.
 */
export function createSasClient(options: SasClientOptions): SasClient {
  const client = createServiceClient({ ...options, service: 'scoped-auth' });

  // The client's failure, as the error middleware answers it.
  const answered = async <T>(reply: Promise<T>): Promise<T> => {
    try {
      return await reply;
    } catch (err) {
      throw withCause(asAppError(err), err);
    }
  };

  return {
    generate: (request, requestId) =>
      answered(
        client.call('/v1/ScopedAuthTokens/generate/internal', request, issuedTokenSchema, { requestId }),
      ),
    refresh: (request, requestId) =>
      answered(
        client.call('/v1/ScopedAuthTokens/refresh/internal', request, sasRefreshResponseSchema, {
          requestId,
        }),
      ),
    close: () => client.close(),
  };
}

function asAppError(err: unknown): AppError {
  if (err instanceof ServiceReplyError && err.status < 500) {
    return err.code === 'malformed_reply'
      ? new AppError('bad_gateway', 'The token service sent an invalid reply.')
      : new AppError('bad_gateway', 'The token service refused the request.');
  }
  // No answer in time (ServiceTransportError), or a 5xx.
  return new AppError('unavailable', 'The token service is unavailable; retry shortly.', {
    'Retry-After': '1',
  });
}

/** Keeps the underlying failure for the 5xx log line without exposing it to the client. */
function withCause(err: AppError, cause: unknown): AppError {
  err.cause = cause;
  return err;
}
