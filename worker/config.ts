import { join } from 'node:path';
import { z } from 'zod';
import { defaultCodecKeysFile } from '../lib/codec/loadCodec';
import { baseUrl, dataDir, logLevel, parseEnv } from '../lib/config';
import { databaseUrl } from '../store/databaseUrl';

const schema = z
  .object({
    TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    FAS_URL: baseUrl('http://127.0.0.1:3001'),
    FAS_TIMEOUT_MS: z.coerce.number().int().positive().default(3000),
    DATA_DIR: dataDir,
    /** HMAC key of the browser fingerprint; generated under DATA_DIR on first start. */
    FINGERPRINT_SECRET_FILE: z.string().optional(),
    SEED_DEMO_ACCOUNTS: z.stringbool().default(true),
    /** Secret of the worker's service credential for FAS (base64url, ≥ 32 bytes); else FAS_AUTH_SECRET_FILE. */
    FAS_AUTH_SECRET: z.string().min(1).optional(),
    FAS_AUTH_SECRET_FILE: z.string().optional(),
    /** The account store on a PostgreSQL server; the embedded store under DATA_DIR when unset. */
    DATABASE_URL: databaseUrl,
    /** Payload codec keys (JSON `{current, keys}`); else CODEC_KEYS_FILE, created under DATA_DIR on first start. */
    CODEC_KEYS: z.string().optional(),
    CODEC_KEYS_FILE: z.string().optional(),
    LOG_LEVEL: logLevel,
    /** `host:port` of the Prometheus endpoint of the Temporal runtime's metrics; empty turns it off. */
    WORKER_METRICS_ADDRESS: z.string().default('127.0.0.1:9464'),
  })
  .transform((env) => ({
    ...env,
    CODEC_KEYS_FILE: env.CODEC_KEYS_FILE ?? defaultCodecKeysFile(env.DATA_DIR),
    FINGERPRINT_SECRET_FILE: env.FINGERPRINT_SECRET_FILE ?? join(env.DATA_DIR, 'secrets', 'fingerprint.key'),
    /** Shared with FAS, which verifies the credential (lib/serviceAuth.ts). */
    fasAuthSecret: {
      value: env.FAS_AUTH_SECRET,
      file: env.FAS_AUTH_SECRET_FILE ?? join(env.DATA_DIR, 'secrets', 'fas-auth.key'),
    },
  }));

export type WorkerConfig = z.infer<typeof schema>;

export const loadWorkerConfig = (env: NodeJS.ProcessEnv = process.env): WorkerConfig => parseEnv(schema, env);
