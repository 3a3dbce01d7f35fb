import { z } from 'zod';
import { cidrList, logLevel, parseEnv, port } from '../lib/config';

/** One or more http(s) base URLs, comma-separated; kept as one string, each without a trailing slash. */
const upstreams = z
  .string()
  .default('http://127.0.0.1:3000')
  .transform((value) =>
    value
      .split(',')
      .map((url) => url.trim().replace(/\/+$/, ''))
      .filter((url) => url !== ''),
  )
  .refine((urls) => urls.length > 0, 'name at least one URL')
  .refine((urls) => urls.every(isHttpUrl), 'must be an http(s) URL')
  .transform((urls) => urls.join(','));

const schema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  EDGE_PORT: port(8080),
  /** The API instances, comma-separated; requests are spread over those that answer /readyz. */
  API_URL: upstreams,
  /**
   * How long the edge waits for the API's response headers before answering 503 itself. Longer than the API's
   * own deadline (TOKEN_DEADLINE_MS, 8 s by default) so that the API, which knows why it is slow, answers first.
   */
  EDGE_PROXY_TIMEOUT_MS: z.coerce.number().int().min(1).max(300_000).default(15_000),
  /** How often each API's /readyz is asked; one that fails is skipped until it answers again. */
  EDGE_HEALTH_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  /** The load balancers in front of the edge, whose X-Forwarded-For hops are believed; empty: none. */
  EDGE_TRUSTED_PROXIES: cidrList(''),
  /** Largest request body forwarded (token requests are a few hundred bytes); larger gets 413. */
  EDGE_MAX_BODY_BYTES: z.coerce.number().int().min(1).max(10_000_000).default(65_536),
  /** A request (headers and body) that takes longer than this to arrive gets 408 (slowloris). */
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  LOG_LEVEL: logLevel,
});

export type EdgeConfig = z.infer<typeof schema>;

export const loadEdgeConfig = (env: NodeJS.ProcessEnv = process.env): EdgeConfig => parseEnv(schema, env);

function isHttpUrl(url: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
}
