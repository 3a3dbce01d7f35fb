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
    /** How often the key ring file is checked for a rotation; 0 checks only on SIGHUP. */
    SAS_KEYS_RELOAD_MS: z.coerce.number().int().min(0).max(3_600_000).default(5000),
    /** Secret that FAS's credentials are signed with (base64url, ≥ 32 bytes); else the file below. */
    SAS_AUTH_SECRET: z.string().min(1).optional(),
    /** Defaults to `${DATA_DIR}/secrets/sas-auth.key`, created on first start. */
    SAS_AUTH_SECRET_FILE: z.string().min(1).optional(),
    TOKEN_ISSUER: z.string().min(1).default('urn:webchat:scoped-auth'),
    TOKEN_AUDIENCE: z.string().min(1).default('urn:webchat:widget'),
    LOG_LEVEL: logLevel,
  })
  .transform((env) => ({
    host: env.HOST,
    port: env.SAS_PORT,
    keysDir: env.SAS_KEYS_DIR ?? join(env.DATA_DIR, 'keys'),
    keysReloadMs: env.SAS_KEYS_RELOAD_MS,
    authSecret: {
      value: env.SAS_AUTH_SECRET,
      file: env.SAS_AUTH_SECRET_FILE ?? join(env.DATA_DIR, 'secrets', 'sas-auth.key'),
    },
    issuer: env.TOKEN_ISSUER,
    audience: env.TOKEN_AUDIENCE,
    logLevel: env.LOG_LEVEL,
  }));

export type ScopedAuthConfig = z.infer<typeof schema>;

/** The scoped auth service's configuration, parsed once at start-up from the environment. */
export function loadScopedAuthConfig(env: NodeJS.ProcessEnv = process.env): ScopedAuthConfig {
  return parseEnv(schema, env);
}
