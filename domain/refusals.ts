import type { DenyReason, RefreshDenyCode } from './contracts';

/**
 * What a client reads when it is refused, one sentence per stable code: the issuance's denials (answered 403, or
 * 400 for a missing or refused proof) and a refresh's refusals (403 `{valid: false, code, message}`), at the API
 * and at FAS alike. Never more detail than the code: which check of a proof failed, or why a token was refused, is
 * logged where it happened, not told.
 */
export const denyMessages: Record<DenyReason, string> = {
  invalid_deployment_key: 'The deployment key is unknown or revoked.',
  origin_not_allowed: "This page's origin is not one the account allows.",
  fingerprint_generation_failed: 'The browser fingerprint could not be generated from this request.',
  dpop_proof_required: 'This deployment key binds tokens to a key: send a valid DPoP proof.',
};

export const refusalMessages: Record<RefreshDenyCode, string> = {
  invalid_token: 'The token is invalid, expired or not for this deployment key.',
  fingerprint_validation_failed: 'The token belongs to another browser.',
  origin_not_allowed: "This page's origin is not one the account allows.",
  invalid_dpop_proof: 'The DPoP proof is missing or not valid for this token.',
};
