import { ActivityFailure, ApplicationFailure } from '@temporalio/common';

/** `ApplicationFailure` types that activities raise and workflows match on (pure: imported by workflows). */
export const FINGERPRINT_FAILURE = 'FingerprintGenerationFailed';
export const FAS_REJECTED_FAILURE = 'FasRejected';

/**
 * True when an activity failed with an `ApplicationFailure` of `type`. A regular activity's failure arrives
 * wrapped in an `ActivityFailure`; a local activity's non-retryable failure may arrive as the
 * `ApplicationFailure` itself.
 */
export function isActivityFailureOfType(err: unknown, type: string): boolean {
  const failure = err instanceof ActivityFailure ? err.cause : err;
  return failure instanceof ApplicationFailure && failure.type === type;
}
