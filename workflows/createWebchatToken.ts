import {
  type CreateWebchatTokenInput,
  type CreateWebchatTokenResult,
  type DenyReason,
  type FingerprintSensitivity,
} from '../domain/contracts';
import { FINGERPRINT_FAILURE, isActivityFailureOfType } from '../domain/failureTypes';
import { deniedResult, fasTokenRequest, issuedResult } from '../domain/issuance';
import { loadAccount } from './loadAccount';
import { refusesOrigin } from './originCheck';
import { auth, fingerprinting } from './proxies';
import { recordOutcome } from './recordOutcome';

/**
 * One token issuance, as in the source design: resolve the account, load its configuration (held here until
 * the execution ends), read the webchat-security flag, refuse a page on an origin the account does not allow,
 * fingerprint the browser when the flag is on, and have FAS mint the token. Business denials are typed results, so the API can map them to 403 with the right CORS headers.
 */
export async function CreateWebchatToken(input: CreateWebchatTokenInput): Promise<CreateWebchatTokenResult> {
  const account = await loadAccount(input.deploymentKey);
  if (account === null) {
    return deny('invalid_deployment_key', null, []);
  }
  const { accountSid, config, security } = account;
  if (refusesOrigin(config.allowedOrigins, input.origin)) {
    return deny('origin_not_allowed', accountSid, config.allowedOrigins);
  }

  let fingerprint: { fingerprint: string; level: FingerprintSensitivity } | undefined;
  if (security) {
    try {
      fingerprint = await fingerprinting.generateFingerprint(input.signals, config.fingerprintSensitivity);
    } catch (err) {
      if (isActivityFailureOfType(err, FINGERPRINT_FAILURE)) {
        return deny('fingerprint_generation_failed', accountSid, config.allowedOrigins);
      }
      throw err;
    }
  }

  const issued = await auth.requestToken(accountSid, fasTokenRequest(config, fingerprint), input.requestId);
  recordOutcome('issued', null, 'Token issued');
  return issuedResult(accountSid, issued, config.allowedOrigins, input.origin);

  function deny(reason: DenyReason, sid: string | null, allowedOrigins: string[]): CreateWebchatTokenResult {
    recordOutcome('denied', reason, `Denied: ${reason}`);
    return deniedResult(reason, sid, allowedOrigins, input.origin);
  }
}
