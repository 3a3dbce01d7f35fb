import type {
  CreateWebchatTokenInput,
  CreateWebchatTokenResult,
  RefreshWebchatTokenInput,
  RefreshWebchatTokenResult,
} from '../domain/contracts';

/**
 * What the HTTP layer needs to issue and refresh tokens. The API runs them as Temporal workflows
 * (`temporalTokenRuns`); the benchmark's direct baseline and the route tests plug in others.
 */
export interface TokenRuns {
  /**
   * Runs one issuance (`CreateWebchatToken`) and resolves with its outcome, or rejects with
   * `AppError('unavailable')` once `deadlineMs` has passed.
   */
  runCreate(
    input: CreateWebchatTokenInput,
    deadlineMs: number,
    options?: IssueOptions,
  ): Promise<CreateWebchatTokenResult>;
  /** Runs one refresh (`RefreshWebchatToken`), as `runCreate`. */
  runRefresh(input: RefreshWebchatTokenInput, deadlineMs: number): Promise<RefreshWebchatTokenResult>;
  /** True when runs can be taken (Temporal reachable). */
  ready(): Promise<boolean>;
}

export interface IssueOptions {
  /** The client's validated `Idempotency-Key`: a retry with the same key gets the same outcome. */
  idempotencyKey?: string;
}
