import type { CreateWebchatTokenInput, CreateWebchatTokenResult, DenyReason } from './contracts';
import { admit, type AdmissionCheck } from './admission';
import { fasTokenRequest } from './fasRequests';
import { deniedResult, issuedResult } from './issuance';
import { keyToBind } from './keyBinding';
import type { RunObserver, TokenSteps } from './tokenSteps';

/** What an issuance answers when a check before FAS fails (domain/admission.ts). */
const denials: Record<AdmissionCheck, DenyReason> = {
  account: 'invalid_deployment_key',
  origin: 'origin_not_allowed',
  key: 'dpop_proof_required',
  fingerprint: 'fingerprint_generation_failed',
};

/**
 * One token issuance, as in the source design: resolve the account, load its configuration (held until the
 * run ends), read the webchat-security flag, refuse a page on an origin the account does not allow, decide the
 * key binding, fingerprint the browser when the flag is on (domain/admission.ts), and have FAS mint the token.
 * Business denials are typed results, so the API can map them to 403 (400 for a missing or refused proof) with
 * the right CORS headers.
 */
export async function createWebchatToken(
  input: CreateWebchatTokenInput,
  steps: TokenSteps,
  observer: RunObserver,
): Promise<CreateWebchatTokenResult> {
  const admission = await admit(input, steps, observer, keyToBind);
  if (!admission.admitted) {
    const reason = denials[admission.failed];
    const { config } = admission;
    observer.finished('denied', reason, `Denied: ${reason}`);
    return deniedResult(reason, config?.accountSid ?? null, config?.allowedOrigins ?? [], input.origin);
  }
  const { config, key, fingerprint } = admission;
  const { accountSid } = config;

  const issued = await steps.requestToken(
    accountSid,
    fasTokenRequest(config, fingerprint, key.jkt),
    input.requestId,
  );
  observer.finished('issued', null, 'Token issued');
  return issuedResult(accountSid, issued, config.allowedOrigins, input.origin);
}
