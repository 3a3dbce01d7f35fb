import type { RefreshDenyCode, RefreshWebchatTokenInput, RefreshWebchatTokenResult } from './contracts';
import { corsFor, isOriginAllowed } from './cors';
import { FINGERPRINT_FAILURE, isActivityFailureOfType } from './failureTypes';
import { fasRefreshRequest, type FingerprintBinding } from './fasRequests';
import { refreshKeys } from './keyBinding';
import { lookUpAccount } from './lookUpAccount';
import { refusalMessages } from './refusals';
import type { RunObserver, TokenSteps } from './tokenSteps';

/**
 * Refreshes a visitor's token: the same account lookup as an issuance (configuration held until the run
 * ends) and the same refusal of a page on an origin the account does not allow, a fingerprint of the
 * refreshing browser when webchat-security is on, then FAS has SAS refresh the old token: SAS checks it, its
 * binding, its revocation and its session's maximum age, and rotates it (a token refreshes once; a retry within
 * the grace window gets the same successor). Refusals are typed results.
 */
export async function refreshWebchatToken(
  input: RefreshWebchatTokenInput,
  steps: TokenSteps,
  observer: RunObserver,
): Promise<RefreshWebchatTokenResult> {
  const account = await lookUpAccount(input.deploymentKey, steps, observer);
  if (account === null) return refuse('invalid_token', null, []);
  const { config, security } = account;
  const { accountSid } = config;
  // A browser page on an origin the account does not allow gets nothing: no fingerprint, no FAS call.
  if (!isOriginAllowed(config.allowedOrigins, input.origin)) {
    return refuse('origin_not_allowed', accountSid, config.allowedOrigins);
  }
  const keys = refreshKeys(config, input.dpop);
  if (keys === 'refuse') return refuse('invalid_dpop_proof', accountSid, config.allowedOrigins);

  let fingerprint: FingerprintBinding | undefined;
  if (security) {
    try {
      fingerprint = await steps.generateFingerprint(input.signals, config.fingerprintSensitivity);
    } catch (err) {
      // A browser that cannot be fingerprinted cannot prove it is the one the token was bound to.
      if (isActivityFailureOfType(err, FINGERPRINT_FAILURE)) {
        return refuse('fingerprint_validation_failed', accountSid, config.allowedOrigins);
      }
      throw err;
    }
  }

  const result = await steps.refreshToken(
    accountSid,
    fasRefreshRequest(config, input.token, fingerprint, keys),
    input.requestId,
  );
  if (result.outcome === 'refused') return refuse(result.code, accountSid, config.allowedOrigins);
  observer.finished('refreshed', null, 'Token refreshed');
  const { token, identity, expiration } = result;
  return {
    outcome: 'refreshed',
    accountSid,
    token,
    identity,
    expiration,
    cors: corsFor(config.allowedOrigins, input.origin),
  };

  function refuse(
    code: RefreshDenyCode,
    sid: string | null,
    allowedOrigins: readonly string[],
  ): RefreshWebchatTokenResult {
    observer.finished('refused', code, `Refused: ${code}`);
    return {
      outcome: 'refused',
      code,
      message: refusalMessages[code],
      accountSid: sid,
      cors: corsFor(allowedOrigins, input.origin),
    };
  }
}
