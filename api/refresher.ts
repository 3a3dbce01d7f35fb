import type { RefreshWebchatTokenInput, RefreshWebchatTokenResult } from '../domain/contracts';

/** What the refresh route needs: run `RefreshWebchatToken`, bounded by a deadline. */
export interface Refresher {
  /** Resolves with the outcome, or rejects with `AppError('unavailable')` once `deadlineMs` has passed. */
  refreshToken(input: RefreshWebchatTokenInput, deadlineMs: number): Promise<RefreshWebchatTokenResult>;
}
