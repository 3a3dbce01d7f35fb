import { z } from 'zod';
import { baseUrl, logLevel, parseEnv, port } from '../lib/config';

const schema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  EDGE_PORT: port(8080),
  API_URL: baseUrl('http://127.0.0.1:3000').refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL'),
  /**
   * How long the edge waits for the API's response headers before answering 503 itself. Longer than the API's
   * own deadline (TOKEN_DEADLINE_MS, 8 s by default) so that the API, which knows why it is slow, answers first.
   */
  EDGE_PROXY_TIMEOUT_MS: z.coerce.number().int().min(1).max(300_000).default(15_000),
  LOG_LEVEL: logLevel,
});

export type EdgeConfig = z.infer<typeof schema>;

export const loadEdgeConfig = (env: NodeJS.ProcessEnv = process.env): EdgeConfig => parseEnv(schema, env);
