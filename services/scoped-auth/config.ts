import { join } from 'node:path';
import { z } from 'zod';
import { sessionMaxAgeSeconds } from '../../domain/accountRules';
import { dataDir, isProduction, logLevel, nodeEnv, parseEnv, port, redisUrl } from '../../lib/config';
import { DEFAULT_REPLAY_KEY_PREFIX } from '../../lib/replayCache';
import type { ReplaySettings } from '../../lib/replayCache';
import { secretSource, secretVariables } from '../../lib/secrets/secretConfig';
import { databaseUrl } from '../../store/databaseUrl';

const schema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    SAS_PORT: port(3002),
    DATA_DIR: dataDir,
    NODE_ENV: nodeEnv,
    /**
     * The key ring's folder, which every SAS instance of a deployment shares and only reads; `npm run
     * rotate-keys` creates and rotates the ring. Defaults to `${DATA_DIR}/keys`, where SAS creates a ring on
     * first start unless NODE_ENV=production.
     */
    SAS_KEYS_DIR: z.string().min(1).optional(),
    /** How often the key ring file is checked for a rotation; 0 checks only on SIGHUP. */
    SAS_KEYS_RELOAD_MS: z.coerce.number().int().min(0).max(3_600_000).default(5000),
    /** Verifies FAS's credentials (FAS holds the same one); also from SAS_AUTH_SECRET_FILE. */
    ...secretVariables('SAS_AUTH_SECRET'),
    /** Remember FAS's credentials in this Redis, shared by every SAS; unset: in this process. */
    REDIS_URL: redisUrl,
    /** Prefix of the replay cache's Redis keys, so several deployments can share one Redis. */
    REPLAY_KEY_PREFIX: z.string().min(1).default(DEFAULT_REPLAY_KEY_PREFIX),
    TOKEN_ISSUER: z.string().min(1).default('urn:webchat:scoped-auth'),
    TOKEN_AUDIENCE: z.string().min(1).default('urn:webchat:widget'),
    LOG_LEVEL: logLevel,
    /** Refresh and revocation state on this PostgreSQL server (shared by every instance); else embedded. */
    DATABASE_URL: databaseUrl,
    /** How long after its first token a session may still refresh; an account may set its own. */
    SESSION_MAX_AGE_S: z.coerce
      .number()
      .int()
      .min(sessionMaxAgeSeconds.min)
      .max(sessionMaxAgeSeconds.max)
      .default(sessionMaxAgeSeconds.default),
    /** How long a repeat of one refresh from the same browser gets the same successor; later, a reuse. */
    REFRESH_REUSE_GRACE_S: z.coerce.number().int().min(0).max(300).default(30),
  })
  .transform((env) => ({
    host: env.HOST,
    port: env.SAS_PORT,
    keysDir: env.SAS_KEYS_DIR ?? join(env.DATA_DIR, 'keys'),
    keysReloadMs: env.SAS_KEYS_RELOAD_MS,
    /** Whether a missing key ring is generated (single box) or stops the start (production). */
    createKeys: !isProduction(env),
    authSecret: secretSource(env, 'SAS_AUTH_SECRET'),
    /** Where accepted credentials are remembered (lib/replayCache.ts). */
    replays: { redisUrl: env.REDIS_URL, keyPrefix: env.REPLAY_KEY_PREFIX },
    issuer: env.TOKEN_ISSUER,
    audience: env.TOKEN_AUDIENCE,
    logLevel: env.LOG_LEVEL,
    sessions: {
      databaseUrl: env.DATABASE_URL,
      /** Without DATABASE_URL: the SQLite file under DATA_DIR; null keeps it in memory (tests). */
      dataDir: inMemoryOr(env.DATA_DIR),
      maxAgeSeconds: env.SESSION_MAX_AGE_S,
      reuseGraceSeconds: env.REFRESH_REUSE_GRACE_S,
    },
  }));

/** Widens the type: a config built in a test may say null (in memory); the environment always names a folder. */
const inMemoryOr = (dir: string): string | null => dir;

/** A config built in a test may leave `replays` out: remembered in memory. */
export type ScopedAuthConfig = Omit<z.infer<typeof schema>, 'replays'> & { replays?: ReplaySettings };

/** The scoped auth service's configuration, parsed once at start-up from the environment. */
export function loadScopedAuthConfig(env: NodeJS.ProcessEnv = process.env): ScopedAuthConfig {
  return parseEnv(schema, env);
}
