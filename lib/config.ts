import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Parses the environment once, at start-up, against a process's own schema. A bad value stops the process
 * with a message naming the variable, instead of failing later on the first request.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** A TCP port from the environment, with a default that runs on a laptop. */
export const port = (fallback: number) =>
  z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(0).max(65535).default(fallback),
  );

/** A URL from the environment, without a trailing slash. */
export const baseUrl = (fallback: string) =>
  z
    .url()
    .default(fallback)
    .transform((u) => u.replace(/\/+$/, ''));

/** Where development keys, secrets and the embedded databases live (git-ignored). */
export const dataDir = z.string().min(1).default('.data');

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

/**
 * `NODE_ENV=production` marks a deployment: a process whose secret is missing stops at start instead of
 * generating one of its own (lib/secrets/secretConfig.ts), and the demo accounts are seeded only on request.
 */
export const nodeEnv = z.string().optional();
export const isProduction = (env: { NODE_ENV?: string | undefined }) => env.NODE_ENV === 'production';

/** CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`) or single addresses, comma-separated; empty: none. */
export const cidrList = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== ''),
    )
    .refine(
      (entries) => entries.every(isCidr),
      'must be a comma-separated list of CIDR blocks or addresses (10.0.0.0/8, fd00::/8, 127.0.0.1)',
    );

function isCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * `REDIS_URL`: the fleet's Redis, which the APIs count their rate limits in and FAS and SAS remember service
 * credentials in; unset: each process keeps its own count in memory.
 */
export const redisUrl = z
  .string()
  .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
  .optional();
