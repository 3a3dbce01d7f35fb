import type { CreateWebchatTokenInput, CreateWebchatTokenResult, DenyReason } from './contracts';
import { isOriginAllowed } from './cors';
import { FINGERPRINT_FAILURE, isActivityFailureOfType } from './failureTypes';
import { fasTokenRequest, type FingerprintBinding } from './fasRequests';
import { deniedResult, issuedResult } from './issuance';
import { keyToBind } from './keyBinding';
import { lookUpAccount } from './lookUpAccount';
import type { RunObserver, TokenSteps } from './tokenSteps';

/**
 * One token issuance, as in the source design: resolve the account, load its configuration (held until the
 * run ends), read the webchat-security flag, refuse a page on an origin the account does not allow,
 * fingerprint the browser when the flag is on, and have FAS mint the token. Business denials are typed results, so the API can map them to 403 with the right CORS headers.
 */
export async function createWebchatToken(
  input: CreateWebchatTokenInput,
  steps: TokenSteps,
  observer: RunObserver,
): Promise<CreateWebchatTokenResult> {
  const account = await lookUpAccount(input.deploymentKey, steps, observer);
  if (account === null) return deny('invalid_deployment_key', null, []);
  const { config, security } = account;
  const { accountSid } = config;
  // A browser page on an origin the account does not allow gets nothing: no fingerprint, no FAS call.
  if (!isOriginAllowed(config.allowedOrigins, input.origin)) {
    return deny('origin_not_allowed', accountSid, config.allowedOrigins);
  }
  const key = keyToBind(config, input.dpop);
  if (key === 'refuse') return deny('dpop_proof_required', accountSid, config.allowedOrigins);

  let fingerprint: FingerprintBinding | undefined;
  if (security) {
    try {
      fingerprint = await steps.generateFingerprint(input.signals, config.fingerprintSensitivity);
    } catch (err) {
      if (isActivityFailureOfType(err, FINGERPRINT_FAILURE)) {
        return deny('fingerprint_generation_failed', accountSid, config.allowedOrigins);
      }
      throw err;
    }
  }

  const issued = await steps.requestToken(
    accountSid,
    fasTokenRequest(config, fingerprint, key.jkt),
    input.requestId,
  );
  observer.finished('issued', null, 'Token issued');
  return issuedResult(accountSid, issued, config.allowedOrigins, input.origin);

  function deny(reason: DenyReason, sid: string | null, allowedOrigins: string[]): CreateWebchatTokenResult {
    observer.finished('denied', reason, `Denied: ${reason}`);
    return deniedResult(reason, sid, allowedOrigins, input.origin);
  }
}
