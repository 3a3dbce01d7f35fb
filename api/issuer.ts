import type { CreateWebchatTokenInput, CreateWebchatTokenResult } from '../domain/contracts';

/**
 * What the HTTP layer needs to issue a token. The Temporal implementation starts `CreateWebchatToken`; tests
 * and the benchmark's direct baseline plug in others.
 */
export interface Issuer {
  /** Resolves with the outcome, or rejects with `AppError('unavailable')` once `deadlineMs` has passed. */
  createToken(
    input: CreateWebchatTokenInput,
    deadlineMs: number,
    options?: IssueOptions,
  ): Promise<CreateWebchatTokenResult>;
  /** True when the issuer can take requests (Temporal reachable). */
  ready(): Promise<boolean>;
}

export interface IssueOptions {
  /** The client's validated `Idempotency-Key`: a retry with the same key gets the same outcome. */
  idempotencyKey?: string;
}
