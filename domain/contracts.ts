import { z } from 'zod';
import { accountSidSchema, sessionMaxAgeSchema, ttlSchema } from './accountRules';
import { fingerprintSensitivities, type FingerprintSensitivity, type KeyBinding } from './names';

/**
 * The shapes shared by the API, the workflows, the activities and the auth services: each one a zod schema
 * (where a service validates it on the wire) and the type inferred from it, defined once. Pure: the workflow
 * sandbox imports this module (its types only: names live in ./names.ts, so the schemas stay out of the bundle).
 */

export {
  CREATE_WORKFLOW_TYPE,
  fingerprintSensitivities,
  keyBindings,
  REFRESH_WORKFLOW_TYPE,
  TASK_QUEUE,
  WEBCHAT_SECURITY_FLAG,
  type FingerprintSensitivity,
  type KeyBinding,
} from './names';

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

// ---- Field schemas: FAS and SAS accept exactly the same values.

/** What the token grants the widget. */
export const grantsSchema = z.strictObject({
  webchat: z.strictObject({ addressSid: z.string().min(1).max(64) }),
});
export type WebchatGrants = z.infer<typeof grantsSchema>;

const fingerprintSchema = z.string().min(1).max(128);
const tokenSchema = z.string().min(1).max(8192);
const fingerprintLevelSchema = z.enum(fingerprintSensitivities);

/** An RFC 7638 SHA-256 JWK thumbprint: what a key-bound token's `cnf.jkt` holds. */
export const jktSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a base64url SHA-256 thumbprint');

/** The fields FAS takes from its caller and passes on to SAS unchanged. */
const tokenFields = {
  grants: grantsSchema,
  ttl: ttlSchema,
  fingerprint: fingerprintSchema.optional(),
  fingerprintLevel: fingerprintLevelSchema.optional(),
  /** The account's session maximum age, when it overrides SAS's `SESSION_MAX_AGE_S`. */
  sessionMaxAge: sessionMaxAgeSchema.optional(),
};

/** A fingerprint without its level (or the reverse) cannot be validated later, so it is refused up front. */
const bindingIsWhole = (b: { fingerprint?: string | undefined; fingerprintLevel?: string | undefined }) =>
  (b.fingerprint === undefined) === (b.fingerprintLevel === undefined);
const bindingMessage = {
  message: 'fingerprint and fingerprintLevel go together',
  path: ['fingerprintLevel'],
};

/** An account's configuration as the workflow holds it for the length of one execution. */
export interface AccountConfig {
  accountSid: string;
  allowedOrigins: string[];
  addressSid: string;
  /** Ids of the account's live deployment keys; the keys themselves are stored only as hashes. */
  deploymentKeys: string[];
  fingerprintSensitivity: FingerprintSensitivity;
  tokenTtlSeconds: number;
  /** How long a session may keep refreshing, when the account overrides SAS's default; absent otherwise. */
  sessionMaxAgeSeconds?: number;
  /**
   * Whether tokens are bound to a key the browser holds (DPoP). Absent in configurations runs recorded before
   * key binding existed: read as `off`.
   */
  keyBinding?: KeyBinding;
}

/** The value of `Access-Control-Allow-Origin` and whether the response must carry `Vary: Origin`. */
export interface CorsDecision {
  allowOrigin: string;
  vary: boolean;
}

// ---- Create a token.

/**
 * What the API made of the request's `DPoP` proof (lib/dpop): the thumbprint of the key that signed a valid one,
 * or that one was presented and refused (replayed, stale, for another URL, ...). Absent: no proof.
 */
export type DpopCheck = { jkt: string } | { invalid: true };

export interface CreateWebchatTokenInput {
  requestId: string;
  deploymentKey: string;
  /** The request's `Origin` header, if any. */
  origin: string | null;
  signals: FingerprintSignals;
  dpop?: DpopCheck;
}

/** SAS's generate reply, which FAS passes through, and the public 200 body. */
export const issuedTokenSchema = z.object({
  token: z.string().min(1),
  identity: z.uuid(),
  /** ISO-8601. */
  expiration: z.iso.datetime(),
});
export type IssuedToken = z.infer<typeof issuedTokenSchema>;

export type DenyReason =
  'invalid_deployment_key' | 'origin_not_allowed' | 'fingerprint_generation_failed' | 'dpop_proof_required';

export type CreateWebchatTokenResult =
  | ({ outcome: 'issued'; accountSid: string; cors: CorsDecision } & IssuedToken)
  | { outcome: 'denied'; reason: DenyReason; message: string; accountSid: string | null; cors: CorsDecision };

/** A new token's key binding: the thumbprint of the key whose proof came with the request (RFC 9449 `cnf.jkt`). */
const generateFields = { ...tokenFields, jkt: jktSchema.optional() };

/** FAS `POST /v1/Accounts/{accountSid}/Tokens`. */
export const fasTokenRequestSchema = z.strictObject(generateFields).refine(bindingIsWhole, bindingMessage);
export type FasTokenRequest = z.infer<typeof fasTokenRequestSchema>;

/**
 * SAS `POST /v1/ScopedAuthTokens/generate/internal`: always a new session with a new identity. A refresh keeps
 * its identity and session only through `refresh/internal`, so that no caller can revive a revoked identity or
 * session by naming it.
 */
export const sasGenerateRequestSchema = z
  .strictObject({
    accountSid: accountSidSchema,
    ...generateFields,
    encrypt: z.literal(true),
  })
  .refine(bindingIsWhole, bindingMessage);
export type SasGenerateRequest = z.infer<typeof sasGenerateRequestSchema>;

// ---- Validate a token.

/**
 * SAS `POST /v1/ScopedAuthTokens/validate` and `validate/internal` body. `dpop`: the DPoP proof a chat backend
 * received with the token (`DPoP` header) and the request it came with; a key-bound token validates only with a
 * proof from its key.
 */
export const sasValidateRequestSchema = z.strictObject({
  token: tokenSchema,
  fingerprint: fingerprintSchema.optional(),
  dpop: z
    .strictObject({
      proof: z.string().min(1).max(8192),
      method: z.string().regex(/^[A-Z]{1,16}$/, 'must be an HTTP method in upper case'),
      url: z.url().max(2048),
    })
    .optional(),
});

const validateRefusalSchema = z.object({
  authorized: z.literal(false),
  message: z.enum(['token_validation_failed', 'fingerprint_validation_failed', 'invalid_dpop_proof']),
});

const validatedTokenFields = {
  authorized: z.literal(true),
  auth_account: z.object({ account_sid: accountSidSchema }),
  identity: z.uuid(),
  grants: grantsSchema,
  expiration: z.iso.datetime(),
};

/** SAS `POST /v1/ScopedAuthTokens/validate` reply. */
export const sasValidateResponseSchema = z.discriminatedUnion('authorized', [
  z.object(validatedTokenFields),
  validateRefusalSchema,
]);
export type SasValidateResponse = z.infer<typeof sasValidateResponseSchema>;

/**
 * SAS `POST /v1/ScopedAuthTokens/validate/internal` reply (FAS's credential only): the public validate answer plus
 * the token's binding level (null when unbound), for inspecting a token (tests, or by hand with
 * scripts/service-credential.ts).
 */
export const sasValidateInternalResponseSchema = z.discriminatedUnion('authorized', [
  z.object({ ...validatedTokenFields, fingerprintLevel: fingerprintLevelSchema.nullable() }),
  validateRefusalSchema,
]);
export type SasValidateInternalResponse = z.infer<typeof sasValidateInternalResponseSchema>;

// ---- Refresh a token.

/**
 * A refresh's key binding. `proofJkt`: the thumbprint of the key whose valid proof came with the request; a
 * key-bound token refreshes only with its own key's. `bindKey`: whether an unbound token's successor is bound to
 * that key (the account's key binding is on).
 */
const refreshKeyFields = { proofJkt: jktSchema.optional(), bindKey: z.boolean().optional() };

/** FAS `POST /v1/Accounts/{accountSid}/Tokens/refresh`: the account's current grants and ttl (the new token
 * gets these, not the old token's) and, with webchat-security on, the refreshing browser's fingerprint. */
export const fasRefreshRequestSchema = z
  .strictObject({ token: tokenSchema, ...tokenFields, ...refreshKeyFields })
  .refine(bindingIsWhole, bindingMessage);
export type FasRefreshRequest = z.infer<typeof fasRefreshRequestSchema>;

const refreshRefusalCodes = ['invalid_token', 'fingerprint_validation_failed', 'invalid_dpop_proof'] as const;

/** FAS's 403 body when it refuses a refresh, which the API answers as it is. */
export const refreshRefusalSchema = z.object({
  valid: z.literal(false),
  code: z.enum(refreshRefusalCodes),
  message: z.string().min(1),
});
export type FasRefreshRefusal = z.infer<typeof refreshRefusalSchema>;
export type RefreshRefusalCode = FasRefreshRefusal['code'];

/** SAS `POST /v1/ScopedAuthTokens/refresh/internal` (FAS only): rotation, reuse detection, session age. */
export const sasRefreshRequestSchema = z
  .strictObject({ accountSid: accountSidSchema, token: tokenSchema, ...tokenFields, ...refreshKeyFields })
  .refine(bindingIsWhole, bindingMessage);
export type SasRefreshRequest = z.infer<typeof sasRefreshRequestSchema>;

/** SAS's refresh reply: the successor, or a refusal that FAS turns into its 403. */
export const sasRefreshResponseSchema = z.discriminatedUnion('outcome', [
  issuedTokenSchema.extend({ outcome: z.literal('refreshed') }),
  z.object({ outcome: z.literal('refused'), code: z.enum(refreshRefusalCodes) }),
]);
export type SasRefreshResponse = z.infer<typeof sasRefreshResponseSchema>;

/** Why a `RefreshWebchatToken` run refused: FAS's reasons, or a page on an origin the account does not allow. */
export type RefreshDenyCode = RefreshRefusalCode | 'origin_not_allowed';

/** What `FasClient.postRefresh` resolves to: a 403 refusal is an answer, not an error. */
export type FasRefreshResult =
  | ({ outcome: 'refreshed' } & IssuedToken)
  | { outcome: 'refused'; code: RefreshRefusalCode; message: string };

export interface RefreshWebchatTokenInput {
  requestId: string;
  deploymentKey: string;
  /** The token being refreshed. */
  token: string;
  origin: string | null;
  signals: FingerprintSignals;
  /** The proof that came with the request, checked against the token it presents (`ath`). */
  dpop?: DpopCheck;
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
