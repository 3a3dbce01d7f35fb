import { z } from 'zod';
import { baseUrl, dataDir, isProduction, logLevel, nodeEnv, parseEnv } from '../lib/config';
import {
  codecKeysSource,
  codecKeysVariables,
  secretSource,
  secretVariables,
} from '../lib/secrets/secretConfig';
import { databaseUrl } from '../store/databaseUrl';

const schema = z
  .object({
    TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    FAS_URL: baseUrl('http://127.0.0.1:3001'),
    FAS_TIMEOUT_MS: z.coerce.number().int().positive().default(3000),
    DATA_DIR: dataDir,
    NODE_ENV: nodeEnv,
    /** Create the demo accounts in an empty store; defaults to true, except with NODE_ENV=production. */
    SEED_DEMO_ACCOUNTS: z.stringbool().optional(),
    /**
     * FINGERPRINT_SECRET: HMAC key of the browser fingerprint, the same on every worker. FAS_AUTH_SECRET: the
     * worker's service credential for FAS. Each also from *_FILE (lib/secrets/secretConfig.ts).
     */
    ...secretVariables('FINGERPRINT_SECRET', 'FAS_AUTH_SECRET'),
    /** The account store on a PostgreSQL server; the SQLite file under DATA_DIR when unset. */
    DATABASE_URL: databaseUrl,
    /** Payload codec keys, the same as the API's (lib/secrets/secretConfig.ts). */
    ...codecKeysVariables,
    LOG_LEVEL: logLevel,
    /** `host:port` of the Prometheus endpoint of the Temporal runtime's metrics; empty turns it off. */
    WORKER_METRICS_ADDRESS: z.string().default('127.0.0.1:9464'),
  })
  .transform((env) => ({
    ...env,
    SEED_DEMO_ACCOUNTS: env.SEED_DEMO_ACCOUNTS ?? !isProduction(env),
    codecKeys: codecKeysSource(env),
    fingerprintSecret: secretSource(env, 'FINGERPRINT_SECRET'),
    /** Shared with FAS, which verifies the credential (lib/serviceAuth.ts). */
    fasAuthSecret: secretSource(env, 'FAS_AUTH_SECRET'),
  }));

export type WorkerConfig = z.infer<typeof schema>;

export const loadWorkerConfig = (env: NodeJS.ProcessEnv = process.env): WorkerConfig => parseEnv(schema, env);
