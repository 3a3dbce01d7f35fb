import { z } from 'zod';

/**
 * The rules of an account's identifiers and settings, defined once. The store's input schemas
 * (store/accountInput.ts), the FAS and SAS contracts (domain/contracts.ts), SAS's configuration, its key rotation
 * and session records, and the admin CLI import them. The first migration's CHECKs (store/migrations.ts) hold the
 * values these had when it was written; a change here that narrows them needs a migration too.
 */

/** A token lives from one minute to one day (an account's `tokenTtlSeconds`), an hour unless set. */
export const tokenTtlSeconds = { min: 60, max: 86_400, default: 3_600 } as const;

/**
 * How long after its first token a session may keep refreshing: an account's own, else SAS's
 * `SESSION_MAX_AGE_S` (a day unless set).
 */
export const sessionMaxAgeSeconds = { min: 60, max: 31_536_000, default: 86_400 } as const;

export const ttlSchema = z.number().int().min(tokenTtlSeconds.min).max(tokenTtlSeconds.max);
export const sessionMaxAgeSchema = z
  .number()
  .int()
  .min(sessionMaxAgeSeconds.min)
  .max(sessionMaxAgeSeconds.max);

/** A SID: two letters naming what it identifies, then 32 lowercase hex digits (128 random bits). */
const sid = (prefix: string) =>
  z
    .string()
    .regex(new RegExp(`^${prefix}[0-9a-f]{32}$`), `must be ${prefix} followed by 32 lowercase hex digits`);

export const accountSidSchema = sid('AC');
export const addressSidSchema = sid('AD');
/** A deployment key's id (the key itself is a secret; the id names it in the CLI and the logs). */
export const keyIdSchema = sid('DK');
