import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FINGERPRINT_FAILURE } from '../lib/failureTypes';

/**
 * Activity options of the issuance workflows, in one place so create and refresh behave alike.
 *
 * Every step is a local activity: it runs in the worker that runs the workflow, inside the workflow task, so an
 * issuance is one workflow task and one history write batch instead of a server round trip per step (the dev
 * server's storage is what limits throughput; see bench/README.md). Each step is still recorded in history as
 * a marker, shown as a local activity in the UI, with its attempts.
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
// and answers 503, and cancels the run so that no token is minted for a client that has gone. Backoffs longer
// than a second become durable workflow timers, so a long outage survives a worker restart.
export const auth = proxyLocalActivities<Activities>({
  startToCloseTimeout: '5s',
  scheduleToCloseTimeout: '2m',
  localRetryThreshold: '1s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});
