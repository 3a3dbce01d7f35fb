import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FINGERPRINT_FAILURE } from '../domain/failureTypes';

/**
 * Activity options of the issuance workflows, in one place so create and refresh behave alike.
 *
 * Every step is a local activity: it runs in the worker that runs the workflow, inside the workflow task, and is
 * still recorded in history (a marker per step, shown in the UI's timeline). With eager workflow start a whole
 * issuance is then one workflow task from start to result, with no trip through the server's matching service:
 * measured, it halves the server's work per issuance and its latency (bench/README.md).
 *
 * The FAS call listens to its activity's cancellation signal (activities/createActivities.ts). A run the API
 * cancels (its deadline passed) or an operator terminates reaches the worker at its next workflow-task heartbeat,
 * which the short workflow task timeout the API starts runs with keeps within a few seconds; then the call in
 * flight is aborted and no retry follows. A call FAS has already answered by then may have minted a token that
 * nobody receives, exactly as an in-flight regular activity would. The same holds if the workflow task times
 * out (a worker that died or stalled past the 4 s): the steps not yet recorded run again on the retried task,
 * the FAS call included, and only the second token is delivered.
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

// FAS/SAS outages are retried with backoff for about 1.5 min (20 attempts, or 2 min at most); the API stops
// waiting earlier and answers 503, and cancels the run so that no token is minted for a client that has gone.
// The first retries (200, 400, 800 ms) wait inside the workflow task; longer backoffs are durable workflow
// timers, so an outage does not hold a workflow task open, and a cancellation reaches the run at once. The
// attempt budget counts in workflow time (the time-skipping tests skip it); the 2 min is wall-clock time.
export const auth = proxyLocalActivities<Activities>({
  startToCloseTimeout: '5s',
  scheduleToCloseTimeout: '2m',
  localRetryThreshold: '1s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 20 },
});
