import type {
  AccountConfig,
  CreateWebchatTokenResult,
  DenyReason,
  FasTokenRequest,
  FingerprintSensitivity,
  IssuedToken,
} from './contracts';
import { corsFor } from './cors';
import { denyMessages } from './refusals';

/**
 * The decisions of one issuance, shared by the `CreateWebchatToken` workflow and the benchmark's direct
 * (in-process) issuer so that both answer alike. Pure and free of Node built-ins: the workflow sandbox imports it.
 */

/**
 * What FAS is asked for: the account's grants and TTL (and session maximum age, when it sets one), bound to the
 * fingerprint and to the key (`jkt`, RFC 9449 `cnf`) when there are.
 */
export function fasTokenRequest(
  config: AccountConfig,
  fingerprint?: { fingerprint: string; level: FingerprintSensitivity },
  jkt?: string,
): FasTokenRequest {
  const request: FasTokenRequest = {
    grants: { webchat: { addressSid: config.addressSid } },
    ttl: config.tokenTtlSeconds,
  };
  if (config.sessionMaxAgeSeconds !== undefined) request.sessionMaxAge = config.sessionMaxAgeSeconds;
  if (fingerprint) {
    request.fingerprint = fingerprint.fingerprint;
    request.fingerprintLevel = fingerprint.level;
  }
  if (jkt !== undefined) request.jkt = jkt;
  return request;
}

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
