import { join } from 'node:path';
import { z } from 'zod';
import { baseUrl, dataDir, logLevel, parseEnv, port } from '../../lib/config';

const schema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    FAS_PORT: port(3001),
    SAS_URL: baseUrl('http://127.0.0.1:3002'),
    /** Whole-request deadline for one call to SAS (connect, headers and body). */
    SAS_TIMEOUT_MS: z.coerce.number().int().min(1).max(60_000).default(2000),
    DATA_DIR: dataDir,
    /** Secret the orchestrator's credentials are signed with (base64url, ≥ 32 bytes); else the file below. */
    FAS_AUTH_SECRET: z.string().min(1).optional(),
    /** Defaults to `${DATA_DIR}/secrets/fas-auth.key`, created on first start. */
    FAS_AUTH_SECRET_FILE: z.string().min(1).optional(),
    /** Secret FAS signs its credentials for SAS with; SAS holds the same one. */
    SAS_AUTH_SECRET: z.string().min(1).optional(),
    /** Defaults to `${DATA_DIR}/secrets/sas-auth.key`, created on first start. */
    SAS_AUTH_SECRET_FILE: z.string().min(1).optional(),
    LOG_LEVEL: logLevel,
  })
  .transform((env) => ({
    host: env.HOST,
    port: env.FAS_PORT,
    sasUrl: env.SAS_URL,
    sasTimeoutMs: env.SAS_TIMEOUT_MS,
    /** Verifies callers of FAS (the orchestrator). */
    authSecret: {
      value: env.FAS_AUTH_SECRET,
      file: env.FAS_AUTH_SECRET_FILE ?? join(env.DATA_DIR, 'secrets', 'fas-auth.key'),
    },
    /** Signs FAS's own calls to SAS. */
    sasAuthSecret: {
      value: env.SAS_AUTH_SECRET,
      file: env.SAS_AUTH_SECRET_FILE ?? join(env.DATA_DIR, 'secrets', 'sas-auth.key'),
    },
    logLevel: env.LOG_LEVEL,
  }));

export type FederatedAuthConfig = z.infer<typeof schema>;

/** The federated auth service's configuration, parsed once at start-up from the environment. */
export function loadFederatedAuthConfig(env: NodeJS.ProcessEnv = process.env): FederatedAuthConfig {
  return parseEnv(schema, env);
}
