import { z } from 'zod';
import { AppError } from '../../lib/errors';
import { fingerprintSensitivities } from '../../lib/contracts';

/**
 * The SAS wire contract as zod schemas. FAS validates its own requests with the same field schemas and checks
 * SAS replies with `issuedTokenSchema`, so both services accept exactly the same values.
 */

export const accountSidSchema = z
  .string()
  .regex(/^AC[0-9a-f]{32}$/, 'must be "AC" followed by 32 hex digits');

export const grantsSchema = z.strictObject({
  webchat: z.strictObject({ addressSid: z.string().min(1).max(64) }),
});

export const ttlSchema = z.number().int().min(60).max(86_400);

export const fingerprintSchema = z.string().min(1).max(128);

/** An account's own session maximum age, in seconds (store/accountInput.ts checks the same range). */
export const sessionMaxAgeSchema = z.number().int().min(60).max(31_536_000);

/** The fields FAS takes from its caller and passes on to SAS unchanged. */
const tokenFields = {
  grants: grantsSchema,
  ttl: ttlSchema,
  fingerprint: fingerprintSchema.optional(),
  fingerprintLevel: z.enum(fingerprintSensitivities).optional(),
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

/** FAS `POST /v1/Accounts/{accountSid}/Tokens` body (lib/contracts.ts `FasTokenRequest`). */
export const fasTokenRequestSchema = z.strictObject(tokenFields).refine(bindingIsWhole, bindingMessage);

/**
 * SAS `POST /v1/ScopedAuthTokens/generate/internal` body (lib/contracts.ts `SasGenerateRequest`): always a new
 * session with a new identity. A refresh keeps its identity and session only through `refresh/internal`, so
 * that no caller can revive a revoked identity or session by naming it.
 */
export const generateRequestSchema = z
  .strictObject({
    accountSid: accountSidSchema,
    ...tokenFields,
    encrypt: z.literal(true),
  })
  .refine(bindingIsWhole, bindingMessage);

const tokenSchema = z.string().min(1).max(8192);

/** SAS `POST /v1/ScopedAuthTokens/refresh/internal` body (lib/contracts.ts `SasRefreshRequest`). */
export const sasRefreshRequestSchema = z
  .strictObject({ accountSid: accountSidSchema, token: tokenSchema, ...tokenFields })
  .refine(bindingIsWhole, bindingMessage);

/** SAS refresh reply, as FAS checks it (lib/contracts.ts `SasRefreshResponse`). */
export const sasRefreshResponseSchema = z.discriminatedUnion('outcome', [
  z.object({
    outcome: z.literal('refreshed'),
    token: z.string().min(1),
    identity: z.uuid(),
    expiration: z.iso.datetime(),
  }),
  z.object({
    outcome: z.literal('refused'),
    code: z.enum(['invalid_token', 'fingerprint_validation_failed']),
  }),
]);

/** SAS `POST /v1/ScopedAuthTokens/validate` and `validate/internal` body. */
export const validateRequestSchema = z.strictObject({
  token: tokenSchema,
  fingerprint: fingerprintSchema.optional(),
});

/** FAS `POST /v1/Accounts/{accountSid}/Tokens/refresh` body (lib/contracts.ts `FasRefreshRequest`). */
export const fasRefreshRequestSchema = z
  .strictObject({ token: tokenSchema, ...tokenFields })
  .refine(bindingIsWhole, bindingMessage);

/** SAS `validate/internal` reply, as FAS checks it (lib/contracts.ts `SasValidateInternalResponse`). */
export const validateInternalResponseSchema = z.discriminatedUnion('authorized', [
  z.object({
    authorized: z.literal(true),
    auth_account: z.object({ account_sid: accountSidSchema }),
    identity: z.uuid(),
    grants: grantsSchema,
    expiration: z.iso.datetime(),
    fingerprintLevel: z.enum(fingerprintSensitivities).nullable(),
  }),
  z.object({
    authorized: z.literal(false),
    message: z.enum(['token_validation_failed', 'fingerprint_validation_failed']),
  }),
]);

/** SAS generate reply, which FAS passes through (lib/contracts.ts `IssuedToken`). */
export const issuedTokenSchema = z.object({
  token: z.string().min(1),
  identity: z.uuid(),
  expiration: z.iso.datetime(),
});

/**
 * Parses a request part or throws a 400 `invalid_request` naming each bad field. zod messages name the
 * expected type or range, never the value that was sent, so nothing secret is echoed.
 */
export function parseRequest<S extends z.ZodType>(schema: S, input: unknown, what = 'body'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (i) => (i.path.length > 0 ? `${i.path.join('.')}: ` : '') + i.message,
  );
  throw new AppError('invalid_request', `Invalid ${what}: ${problems.join('; ')}`);
}
