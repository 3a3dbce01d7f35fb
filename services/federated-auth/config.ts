import { z } from 'zod';
import { baseUrl, logLevel, parseEnv, port } from '../../lib/config';

const schema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    FAS_PORT: port(3001),
    SAS_URL: baseUrl('http://127.0.0.1:3002'),
    /** Whole-request deadline for one call to SAS (connect, headers and body). */
    SAS_TIMEOUT_MS: z.coerce.number().int().min(1).max(60_000).default(2000),
    LOG_LEVEL: logLevel,
  })
  .transform((env) => ({
    host: env.HOST,
    port: env.FAS_PORT,
    sasUrl: env.SAS_URL,
    sasTimeoutMs: env.SAS_TIMEOUT_MS,
    logLevel: env.LOG_LEVEL,
  }));

export type FederatedAuthConfig = z.infer<typeof schema>;

/** The federated auth service's configuration, parsed once at start-up from the environment. */
export function loadFederatedAuthConfig(env: NodeJS.ProcessEnv = process.env): FederatedAuthConfig {
  return parseEnv(schema, env);
}
