/**
 * Every error a client or a caller can see has a stable `code`. Callers switch on the code, never on the
 * message; the HTTP status for each code lives in one table here, shared by the API and the internal services.
 * A refresh's refusals (domain/refusals.ts) are not errors: they are answered 403 with their own body.
 */
export const errorStatus = {
  invalid_request: 400,
  dpop_proof_required: 400,
  unauthorized: 401,
  invalid_deployment_key: 403,
  fingerprint_generation_failed: 403,
  origin_not_allowed: 403,
  host_not_allowed: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  headers_too_large: 431,
  internal: 500,
  bad_gateway: 502,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

/** An error whose `code` and `message` are safe to send to the client. */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly status: number;
  readonly expose = true;

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers, e.g. `Retry-After` on 503. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = errorStatus[code];
  }
}
