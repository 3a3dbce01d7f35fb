import type { CreateWebchatTokenResult, DenyReason, IssuedToken } from './contracts';
import { corsFor } from './cors';
import { denyMessages } from './refusals';

/**
 * The decisions of one issuance, shared by the `CreateWebchatToken` workflow and the benchmark's direct
 * (in-process) issuer so that both answer alike. Pure and free of Node built-ins: the workflow sandbox imports it.
 */

export function issuedResult(
  accountSid: string,
  issued: IssuedToken,
  allowedOrigins: readonly string[],
  origin: string | null,
): CreateWebchatTokenResult {
  return { outcome: 'issued', accountSid, ...issued, cors: corsFor(allowedOrigins, origin) };
}

/** A business denial; an unknown key has no account, so its answer allows any origin. */
export function deniedResult(
  reason: DenyReason,
  accountSid: string | null,
  allowedOrigins: readonly string[],
  origin: string | null,
): CreateWebchatTokenResult {
  return {
    outcome: 'denied',
    reason,
    message: denyMessages[reason],
    accountSid,
    cors: corsFor(allowedOrigins, origin),
  };
}
