import type { z } from 'zod';
import { AppError } from '../../domain/errors';

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
