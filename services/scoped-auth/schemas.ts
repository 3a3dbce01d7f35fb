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

/** The fields FAS takes from its caller and passes on to SAS unchanged. */
const tokenFields = {
  grants: grantsSchema,
  ttl: ttlSchema,
  fingerprint: fingerprintSchema.optional(),
  fingerprintLevel: z.enum(fingerprintSensitivities).optional(),
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
 * SAS `POST /v1/ScopedAuthTokens/generate/internal` body (lib/contracts.ts `SasGenerateRequest`). `identity`
 * is how a refresh keeps the visitor's identity; only FAS can call SAS, and FAS sets it only from a token SAS
 * has just validated.
 */
export const generateRequestSchema = z
  .strictObject({
    accountSid: accountSidSchema,
    ...tokenFields,
    encrypt: z.literal(true),
    identity: z.uuid().optional(),
  })
  .refine(bindingIsWhole, bindingMessage);

const tokenSchema = z.string().min(1).max(8192);

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

/** SAS generate reply, which FAS passes through and the API answers (lib/publicContract.ts). */
export { issuedTokenSchema } from '../../lib/publicContract';

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
