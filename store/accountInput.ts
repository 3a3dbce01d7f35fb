import { z } from 'zod';
import {
  accountSidSchema,
  addressSidSchema,
  sessionMaxAgeSchema,
  tokenTtlSeconds,
  ttlSchema,
} from '../domain/accountRules';
import { fingerprintSensitivities, keyBindings } from '../domain/contracts';
import { isOriginPattern } from '../domain/cors';
import { StoreError } from './storeError';

/**
 * Input schemas of the account store: what the admin CLI may write, checked before any SQL runs. The rules of
 * the identifiers and settings themselves are in domain/accountRules.ts.
 */

const DEPLOYMENT_KEY_MIN_LENGTH = 12;
const DEPLOYMENT_KEY_MAX_LENGTH = 256;

/** A plaintext deployment key chosen by an operator (generated keys are longer and always valid). */
export const deploymentKey = z
  .string()
  .min(DEPLOYMENT_KEY_MIN_LENGTH)
  .max(DEPLOYMENT_KEY_MAX_LENGTH)
  .regex(/^[A-Za-z0-9._~-]+$/, 'may contain only letters, digits and . _ ~ -');

export const featureFlag = z
  .string()
  .max(64)
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be kebab-case, e.g. webchat-security');

/**
 * An allowed origin: `https://shop.example.com`, `http://localhost:8081` or a wildcard subdomain
 * `https://*.example.com`. The input is first normalised to the form browsers send (`Origin` header: lower-case
 * host, no default port, no trailing slash), then must pass `isOriginPattern` from `domain/cors.ts`, the very rule
 * the CORS matcher applies. One rule for storing and matching, so no stored entry is silently dead (an
 * `http://*.` wildcard, say, which the matcher never honours).
 */
const allowedOrigin = z.string().transform((value, ctx) => {
  const origin = normaliseOrigin(value);
  if (origin === null) {
    ctx.addIssue({
      code: 'custom',
      message:
        'must be an http(s) origin such as https://shop.example.com, or an https wildcard subdomain ' +
        'such as https://*.example.com',
    });
    return z.NEVER;
  }
  return origin;
});

function normaliseOrigin(value: string): string | null {
  if (!value.includes('://')) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.username || url.password || url.search || url.hash || url.pathname !== '/') return null;
  // `url.origin` is the serialized form (and `null` for schemes other than http(s), which the rule rejects).
  return isOriginPattern(url.origin) ? url.origin : null;
}

const allowedOrigins = z
  .array(allowedOrigin)
  .max(100)
  .transform((origins) => [...new Set(origins)]);

const accountFields = {
  friendlyName: z.string().max(256),
  addressSid: addressSidSchema,
  allowedOrigins,
  fingerprintSensitivity: z.enum(fingerprintSensitivities),
  tokenTtlSeconds: ttlSchema,
  /** How long a session may keep refreshing; absent (or null on update): SAS's SESSION_MAX_AGE_S. */
  sessionMaxAgeSeconds: sessionMaxAgeSchema,
  keyBinding: z.enum(keyBindings),
};

export const createAccountInput = z.strictObject({
  accountSid: accountSidSchema.optional(),
  friendlyName: accountFields.friendlyName.default(''),
  addressSid: addressSidSchema.optional(),
  allowedOrigins: allowedOrigins.default([]),
  fingerprintSensitivity: accountFields.fingerprintSensitivity.default('medium'),
  tokenTtlSeconds: accountFields.tokenTtlSeconds.default(tokenTtlSeconds.default),
  sessionMaxAgeSeconds: accountFields.sessionMaxAgeSeconds.optional(),
  keyBinding: accountFields.keyBinding.default('off'),
  /** Plaintext keys to create with the account, in the same transaction. */
  deploymentKeys: z.array(deploymentKey).max(100).default([]),
  /** Flags to set with the account, in the same transaction. */
  featureFlags: z.record(featureFlag, z.boolean()).default({}),
});

export type CreateAccountInput = z.input<typeof createAccountInput>;

export const updateAccountInput = z
  .strictObject({
    friendlyName: accountFields.friendlyName.optional(),
    addressSid: accountFields.addressSid.optional(),
    allowedOrigins: accountFields.allowedOrigins.optional(),
    fingerprintSensitivity: accountFields.fingerprintSensitivity.optional(),
    tokenTtlSeconds: accountFields.tokenTtlSeconds.optional(),
    /** null: back to the service default. */
    sessionMaxAgeSeconds: accountFields.sessionMaxAgeSeconds.nullable().optional(),
    keyBinding: accountFields.keyBinding.optional(),
  })
  .refine((patch) => Object.values(patch).some((v) => v !== undefined), 'nothing to update');

export type UpdateAccountInput = z.input<typeof updateAccountInput>;

/** Parses `value` or throws `StoreError('invalid_input')` naming every rejected field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({
    path: i.path.map(String).join('.') || what,
    message: i.message,
  }));
  throw new StoreError(
    'invalid_input',
    `Invalid ${what}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    issues,
  );
}
