/**
 * Types and names shared by the API, the workflow, the activities and the auth services. Pure: the workflow
 * sandbox imports this module.
 */

export const TASK_QUEUE = 'webchat-token';
export const CREATE_WORKFLOW_TYPE = 'CreateWebchatToken';
export const WEBCHAT_SECURITY_FLAG = 'webchat-security';

export const fingerprintSensitivities = ['low', 'medium', 'high'] as const;
export type FingerprintSensitivity = (typeof fingerprintSensitivities)[number];

/**
 * Raw fingerprint signals, exactly as the request carried them (header values). They are secrets: never
 * logged, never put in a search attribute.
 */
export interface FingerprintSignals {
  userAgent?: string;
  acceptLanguage?: string;
  /** First X-Forwarded-For hop as set by the edge, else the socket address. */
  clientIp?: string;
  /** `x-twilio-sec-usersettings`: JSON `{language, cookieEnabled, userTimezone}`. */
  userSettings?: string;
  /** `x-twilio-sec-decoders`: JSON `{audio, video}`. */
  decoders?: string;
  /** `x-twilio-sec-webchatinfo`: JSON `{loginTimestamp}`. */
  webchatInfo?: string;
}

/** What the token grants the widget. */
export interface WebchatGrants {
  webchat: { addressSid: string };
}

/** An account's configuration as the workflow holds it for the length of one execution. */
export interface AccountConfig {
  accountSid: string;
  allowedOrigins: string[];
  addressSid: string;
  /** Ids of the account's live deployment keys; the keys themselves are stored only as hashes. */
  deploymentKeys: string[];
  fingerprintSensitivity: FingerprintSensitivity;
  tokenTtlSeconds: number;
}

export interface CreateWebchatTokenInput {
  requestId: string;
  deploymentKey: string;
  /** The request's `Origin` header, if any. */
  origin: string | null;
  signals: FingerprintSignals;
}

/** The value of `Access-Control-Allow-Origin` and whether the response must carry `Vary: Origin`. */
export interface CorsDecision {
  allowOrigin: string;
  vary: boolean;
}

export interface IssuedToken {
  token: string;
  identity: string;
  /** ISO-8601. */
  expiration: string;
}

export type DenyReason = 'invalid_deployment_key' | 'origin_not_allowed' | 'fingerprint_generation_failed';

export type CreateWebchatTokenResult =
  | ({ outcome: 'issued'; accountSid: string; cors: CorsDecision } & IssuedToken)
  | { outcome: 'denied'; reason: DenyReason; message: string; accountSid: string | null; cors: CorsDecision };

/** FAS `POST /v1/Accounts/{accountSid}/Tokens`. */
export interface FasTokenRequest {
  grants: WebchatGrants;
  ttl: number;
  fingerprint?: string;
  fingerprintLevel?: FingerprintSensitivity;
}

/** SAS `POST /v1/ScopedAuthTokens/generate/internal`. */
export interface SasGenerateRequest {
  accountSid: string;
  grants: WebchatGrants;
  ttl: number;
  encrypt: true;
  fingerprint?: string;
  fingerprintLevel?: FingerprintSensitivity;
  /** Only on refresh: keep the identity of the token being replaced instead of making a fresh one. */
  identity?: string;
}

/** SAS `POST /v1/ScopedAuthTokens/validate`. */
export type SasValidateResponse =
  | {
      authorized: true;
      auth_account: { account_sid: string };
      identity: string;
      grants: WebchatGrants;
      expiration: string;
    }
  | { authorized: false; message: 'token_validation_failed' | 'fingerprint_validation_failed' };

/**
 * SAS `POST /v1/ScopedAuthTokens/validate/internal` (FAS only): the public validate answer plus the token's
 * binding level (null when unbound), which a refresh must carry over.
 */
export type SasValidateInternalResponse =
  | (Extract<SasValidateResponse, { authorized: true }> & { fingerprintLevel: FingerprintSensitivity | null })
  | Extract<SasValidateResponse, { authorized: false }>;

/** FAS `POST /v1/Accounts/{accountSid}/Tokens/refresh`. */
export interface FasRefreshRequest {
  /** The token being refreshed. */
  token: string;
  /** The account's current grants and ttl: the new token gets these, not the old token's. */
  grants: WebchatGrants;
  ttl: number;
  /** With the account's webchat-security flag on: the fingerprint of the refreshing request, and its level. */
  fingerprint?: string;
  fingerprintLevel?: FingerprintSensitivity;
}

/** FAS's reasons to refuse a refresh. */
export type RefreshRefusalCode = 'invalid_token' | 'fingerprint_validation_failed';

/** Why a `RefreshWebchatToken` run refused: FAS's reasons, or a page on an origin the account does not allow. */
export type RefreshDenyCode = RefreshRefusalCode | 'origin_not_allowed';

/** FAS's 403 body when it refuses a refresh. */
export interface FasRefreshRefusal {
  valid: false;
  code: RefreshRefusalCode;
  message: string;
}

/** What `FasClient.refreshToken` resolves to: a 403 refusal is an answer, not an error. */
export type FasRefreshResult =
  | ({ outcome: 'refreshed' } & IssuedToken)
  | { outcome: 'refused'; code: RefreshRefusalCode; message: string };

export const REFRESH_WORKFLOW_TYPE = 'RefreshWebchatToken';

export interface RefreshWebchatTokenInput {
  requestId: string;
  deploymentKey: string;
  /** The token being refreshed. */
  token: string;
  origin: string | null;
  signals: FingerprintSignals;
}

export type RefreshWebchatTokenResult =
  | ({ outcome: 'refreshed'; accountSid: string; cors: CorsDecision } & IssuedToken)
  | {
      outcome: 'refused';
      code: RefreshDenyCode;
      message: string;
      accountSid: string | null;
      cors: CorsDecision;
    };
