import { join } from 'node:path';
import { z } from 'zod';
import { dataDir, logLevel, parseEnv, port } from '../../lib/config';

const schema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    SAS_PORT: port(3002),
    DATA_DIR: dataDir,
    /** Defaults to `${DATA_DIR}/keys`. */
    SAS_KEYS_DIR: z.string().min(1).optional(),
    TOKEN_ISSUER: z.string().min(1).default('urn:webchat:scoped-auth'),
    TOKEN_AUDIENCE: z.string().min(1).default('urn:webchat:widget'),
    LOG_LEVEL: logLevel,
  })
  .transform((env) => ({
    host: env.HOST,
    port: env.SAS_PORT,
    keysDir: env.SAS_KEYS_DIR ?? join(env.DATA_DIR, 'keys'),
    issuer: env.TOKEN_ISSUER,
    audience: env.TOKEN_AUDIENCE,
    logLevel: env.LOG_LEVEL,
  }));

export type ScopedAuthConfig = z.infer<typeof schema>;

/** The scoped auth service's configuration, parsed once at start-up from the environment. */
export function loadScopedAuthConfig(env: NodeJS.ProcessEnv = process.env): ScopedAuthConfig {
  return parseEnv(schema, env);
}
