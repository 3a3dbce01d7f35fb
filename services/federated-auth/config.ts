import { z } from 'zod';
import { baseUrl, dataDir, logLevel, nodeEnv, parseEnv, port, redisUrl } from '../../lib/config';
import { DEFAULT_REPLAY_KEY_PREFIX } from '../../lib/replayCache';
import type { ReplaySettings } from '../../lib/replayCache';
import { secretSource, secretVariables } from '../../lib/secrets/secretConfig';

const schema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    FAS_PORT: port(3001),
    SAS_URL: baseUrl('http://127.0.0.1:3002'),
    /** Whole-request deadline for one call to SAS (connect, headers and body). */
    SAS_TIMEOUT_MS: z.coerce.number().int().min(1).max(60_000).default(2000),
    DATA_DIR: dataDir,
    NODE_ENV: nodeEnv,
    /**
     * FAS_AUTH_SECRET verifies the orchestrator's credentials (the worker holds the same one); SAS_AUTH_SECRET
     * signs FAS's own calls to SAS (SAS holds the same one). Each also from *_FILE (lib/secrets/secretConfig.ts).
     */
    ...secretVariables('FAS_AUTH_SECRET', 'SAS_AUTH_SECRET'),
    /** Remember the orchestrator's credentials in this Redis, shared by every FAS; unset: in this process. */
    REDIS_URL: redisUrl,
    /** Prefix of the replay cache's Redis keys, so several deployments can share one Redis. */
    REPLAY_KEY_PREFIX: z.string().min(1).default(DEFAULT_REPLAY_KEY_PREFIX),
    LOG_LEVEL: logLevel,
  })
  .transform((env) => ({
    host: env.HOST,
    port: env.FAS_PORT,
    sasUrl: env.SAS_URL,
    sasTimeoutMs: env.SAS_TIMEOUT_MS,
    /** Verifies callers of FAS (the orchestrator). */
    authSecret: secretSource(env, 'FAS_AUTH_SECRET'),
    /** Signs FAS's own calls to SAS. */
    sasAuthSecret: secretSource(env, 'SAS_AUTH_SECRET'),
    /** Where accepted credentials are remembered (lib/replayCache.ts). */
    replays: { redisUrl: env.REDIS_URL, keyPrefix: env.REPLAY_KEY_PREFIX },
    logLevel: env.LOG_LEVEL,
  }));

/** A config built in a test may leave `replays` out: remembered in memory. */
export type FederatedAuthConfig = Omit<z.infer<typeof schema>, 'replays'> & { replays?: ReplaySettings };

/** The federated auth service's configuration, parsed once at start-up from the environment. */
export function loadFederatedAuthConfig(env: NodeJS.ProcessEnv = process.env): FederatedAuthConfig {
  return parseEnv(schema, env);
}
