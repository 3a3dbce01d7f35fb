import { z } from 'zod';
import { logLevel, parseEnv, port } from '../lib/config';

const schema = z.object({
  HOST: z.string().default('127.0.0.1'),
  API_PORT: port(3000),
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** How long a token request waits for its workflow before answering 503 + Retry-After. */
  TOKEN_DEADLINE_MS: z.coerce.number().int().min(100).max(60_000).default(8000),
  /** Trust the first X-Forwarded-For hop (the edge replaces any value a client sends). */
  TRUST_PROXY: z.stringbool().default(true),
  LOG_LEVEL: logLevel,
});

export type ApiConfig = z.infer<typeof schema>;

export const loadApiConfig = (env: NodeJS.ProcessEnv = process.env): ApiConfig => parseEnv(schema, env);
