import type { AccountConfig, FasRefreshRequest, FasTokenRequest, FingerprintSensitivity } from './contracts';

/**
 * What FAS is asked for, built here only: an issuance (`createWebchatToken`) and a refresh
 * (`refreshWebchatToken`) ask for the same thing of the account, whether the workflows or the benchmark's direct
 * path run them. Pure and free of Node built-ins: the workflow sandbox imports it.
 */

/** The browser's fingerprint and its level, when the account's webchat-security is on. */
export type FingerprintBinding = { fingerprint: string; level: FingerprintSensitivity };

/**
 * What any token is minted with: the account's grants and TTL (and session maximum age, when it sets one), bound
 * to the fingerprint when there is one.
 */
function accountTokenFields(
  config: AccountConfig,
  fingerprint: FingerprintBinding | undefined,
): FasTokenRequest {
  const fields: FasTokenRequest = {
    grants: { webchat: { addressSid: config.addressSid } },
    ttl: config.tokenTtlSeconds,
  };
  if (config.sessionMaxAgeSeconds !== undefined) fields.sessionMaxAge = config.sessionMaxAgeSeconds;
  if (fingerprint) {
    fields.fingerprint = fingerprint.fingerprint;
    fields.fingerprintLevel = fingerprint.level;
  }
  return fields;
}

/** A new token (`FasClient.postToken`), bound to the key (`jkt`, RFC 9449 `cnf`) when there is one. */
export function fasTokenRequest(
  config: AccountConfig,
  fingerprint?: FingerprintBinding,
  jkt?: string,
): FasTokenRequest {
  const request = accountTokenFields(config, fingerprint);
  if (jkt !== undefined) request.jkt = jkt;
  return request;
}

/**
 * A successor for `token` (`FasClient.postRefresh`): the account's current grants and TTL, not the old token's,
 * and what the refresh tells SAS of keys (`refreshKeys`, domain/keyBinding.ts).
 */
export function fasRefreshRequest(
  config: AccountConfig,
  token: string,
  fingerprint: FingerprintBinding | undefined,
  keys: { proofJkt?: string; bindKey: boolean },
): FasRefreshRequest {
  return { token, ...accountTokenFields(config, fingerprint), ...keys };
}
