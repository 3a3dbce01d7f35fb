import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FINGERPRINT_FAILURE } from '../lib/failureTypes';

/**
 * Activity options of the issuance workflows, in one place so create and refresh behave alike.
 *
 * The short steps (store reads, fingerprinting) are local activities: they run in the worker that runs the
 * workflow, inside the workflow task, with no server round trip each (see bench/README.md), and are still
 * recorded in history as markers. The FAS call stays a regular activity: a local activity keeps running in
 * the worker until the worker learns its run was cancelled or terminated, so a run the API gave up on could
 * still mint a token; a regular activity is dispatched by the server, which stops dispatching at once.
 */

// Store reads are fast: short timeouts, quick retries.
export const store = proxyLocalActivities<Activities>({
  startToCloseTimeout: '5s',
  scheduleToCloseTimeout: '30s',
  retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumInterval: '2s' },
});

// Fingerprinting is pure CPU work: a failure is a business denial (non-retryable), never a transient fault.
export const fingerprinting = proxyLocalActivities<Activities>({
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
