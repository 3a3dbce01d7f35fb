import {
  ActivityFailure,
  ApplicationFailure,
  log,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  WEBCHAT_SECURITY_FLAG,
  type AccountConfig,
  type CreateWebchatTokenInput,
  type CreateWebchatTokenResult,
  type DenyReason,
  type FingerprintSensitivity,
} from '../lib/contracts';
import { FINGERPRINT_FAILURE } from '../lib/failureTypes';
import { deniedResult, fasTokenRequest, issuedResult } from '../lib/issuance';
import * as sa from '../lib/searchAttributes';

// Store reads are local and fast: short timeouts, quick retries.
const store = proxyActivities<Activities>({
  startToCloseTimeout: '5s',
  scheduleToCloseTimeout: '30s',
  retry: { initialInterval: '100ms', backoffCoefficient: 2, maximumInterval: '2s' },
});

// Fingerprinting is pure CPU work: a failure is a business denial (non-retryable), never a transient fault.
const fingerprinting = proxyActivities<Activities>({
  startToCloseTimeout: '5s',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [FINGERPRINT_FAILURE] },
});

// FAS/SAS outages are retried with backoff until the workflow's own deadline; the API stops waiting earlier
// and answers 503, and cancels the run so that no token is minted for a client that has gone.
const auth = proxyActivities<Activities>({
  startToCloseTimeout: '5s',
  scheduleToCloseTimeout: '2m',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

/**
 * One token issuance, as in the source design: resolve the account, load its configuration (held here until
 * the execution ends), read the webchat-security flag, fingerprint the browser when it is on, and have FAS mint
 * the token. Business denials are typed results, so the API can map them to 403 with the right CORS headers.
 */
export async function CreateWebchatToken(input: CreateWebchatTokenInput): Promise<CreateWebchatTokenResult> {
  const accountSid = await store.resolveAccount(input.deploymentKey);
  if (accountSid === null) {
    return deny('invalid_deployment_key', null, []);
  }
  upsertSearchAttributes([{ key: sa.AccountSid, value: accountSid }]);

  const config: AccountConfig = await store.fetchAccountConfig(accountSid);
  const security = await store.readFeatureFlag(accountSid, WEBCHAT_SECURITY_FLAG);
  upsertSearchAttributes([{ key: sa.Security, value: security }]);

  let fingerprint: { fingerprint: string; level: FingerprintSensitivity } | undefined;
  if (security) {
    try {
      fingerprint = await fingerprinting.generateFingerprint(input.signals, config.fingerprintSensitivity);
    } catch (err) {
      if (isFailureOfType(err, FINGERPRINT_FAILURE)) {
        return deny('fingerprint_generation_failed', accountSid, config.allowedOrigins);
      }
      throw err;
    }
  }

  const issued = await auth.requestToken(accountSid, fasTokenRequest(config, fingerprint), input.requestId);
  finish('issued', null);
  return issuedResult(accountSid, issued, config.allowedOrigins, input.origin);

  function deny(reason: DenyReason, sid: string | null, allowedOrigins: string[]): CreateWebchatTokenResult {
    finish('denied', reason);
    return deniedResult(reason, sid, allowedOrigins, input.origin);
  }
}

function finish(outcome: 'issued' | 'denied', reason: DenyReason | null): void {
  upsertSearchAttributes([
    { key: sa.Outcome, value: outcome },
    ...(reason ? [{ key: sa.DenyReason, value: reason }] : []),
  ]);
  setCurrentDetails(reason ? `Denied: ${reason}` : 'Token issued');
  log.info('webchat token issuance finished', { outcome, reason, workflowId: workflowInfo().workflowId });
}

function isFailureOfType(err: unknown, type: string): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === type;
}
