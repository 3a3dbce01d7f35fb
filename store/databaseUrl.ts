import { z } from 'zod';

/**
 * `DATABASE_URL`: a PostgreSQL server for the account store (`postgres://user:pass@host:5432/db`, libpq query
 * parameters such as `?sslmode=require` or `?options=-c search_path=webchat` allowed). Unset or empty: the
 * SQLite file under DATA_DIR. The value may hold a password, so it is never logged or echoed.
 */
export const databaseUrl = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z
    .string()
    .refine((v) => /^postgres(ql)?:\/\/[^\s]+$/.test(v) && URL.canParse(v), {
      message: 'must be a postgres:// or postgresql:// URL',
    })
    .optional(),
);
