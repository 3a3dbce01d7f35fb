import type { RefreshDenyCode, RefreshWebchatTokenInput, RefreshWebchatTokenResult } from './contracts';
import { admit, type AdmissionCheck } from './admission';
import { corsFor } from './cors';
import { fasRefreshRequest } from './fasRequests';
import { refreshKeys } from './keyBinding';
import { refusalMessages } from './refusals';
import type { RunObserver, TokenSteps } from './tokenSteps';

/**
 * What a refresh answers when a check before FAS fails (domain/admission.ts). An unknown or revoked key is an
 * invalid token for it; a browser that cannot be fingerprinted cannot prove it is the one the token was bound to.
 */
const refusals: Record<AdmissionCheck, RefreshDenyCode> = {
  account: 'invalid_token',
  origin: 'origin_not_allowed',
  key: 'invalid_dpop_proof',
  fingerprint: 'fingerprint_validation_failed',
};

/**
 * Refreshes a visitor's token: the same checks as an issuance (domain/admission.ts: the account, its configuration
 * held until the run ends, the page's origin, the key binding, a fingerprint of the refreshing browser when
 * webchat-security is on), then FAS has SAS refresh the old token: SAS checks it, its binding, its revocation and
 * its session's maximum age, and rotates it (a token refreshes once; a retry within the grace window gets the same
 * successor). Refusals are typed results.
 */
export async function refreshWebchatToken(
  input: RefreshWebchatTokenInput,
  steps: TokenSteps,
  observer: RunObserver,
): Promise<RefreshWebchatTokenResult> {
  const admission = await admit(input, steps, observer, refreshKeys);
  if (!admission.admitted) {
    const { config } = admission;
    return refuse(refusals[admission.failed], config?.accountSid ?? null, config?.allowedOrigins ?? []);
  }
  const { config, key, fingerprint } = admission;
  const { accountSid } = config;

  const result = await steps.refreshToken(
    accountSid,
    fasRefreshRequest(config, input.token, fingerprint, key),
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
