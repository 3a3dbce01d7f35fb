import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FINGERPRINT_FAILURE } from '../lib/failureTypes';

/** Activity options of the issuance workflows, in one place so create and refresh behave alike. */

// Store reads are local and fast: short timeouts, quick retries.
export const store = proxyActivities<Activities>({
  startToCloseTimeout: '5s',
  scheduleToCloseTimeout: '30s',
  retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumInterval: '2s' },
});

// Fingerprinting is pure CPU work: a failure is a business denial (non-retryable), never a transient fault.
export const fingerprinting = proxyActivities<Activities>({
  startToCloseTimeout: '5s',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [FINGERPRINT_FAILURE] },
});

// FAS/SAS outages are retried with backoff until the workflow's own deadline; the API stops waiting earlier
// and answers 503, and cancels the run so that no token is minted for a client that has gone.
export const auth = proxyActivities<Activities>({
  startToCloseTimeout: '5s',
  scheduleToCloseTimeout: '2m',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});
