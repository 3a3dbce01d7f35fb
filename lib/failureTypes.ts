/** `ApplicationFailure` types that activities raise and workflows match on (pure: imported by workflows). */
export const FINGERPRINT_FAILURE = 'FingerprintGenerationFailed';
export const ACCOUNT_NOT_FOUND_FAILURE = 'AccountNotFound';
export const FAS_REJECTED_FAILURE = 'FasRejected';
