import { z } from 'zod';
import { DEFAULT_REPLAY_KEY_PREFIX } from '../lib/replayCache';
import { baseUrl, cidrList, dataDir, logLevel, nodeEnv, parseEnv, port, redisUrl } from '../lib/config';
import { codecKeysSource, codecKeysVariables } from '../lib/secrets/secretConfig';

const schema = z
  .object({
    HOST: z.string().default('127.0.0.1'),
    API_PORT: port(3000),
    TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    /** How long a token request waits for its workflow before answering 503 + Retry-After. */
    TOKEN_DEADLINE_MS: z.coerce.number().int().min(100).max(60_000).default(8000),
    /**
     * Token requests waiting on Temporal at once; more get an immediate 503 + Retry-After (0 = no cap). Set it
     * to capacity × acceptable wait (Little's law): about 69 runs/s at saturation per API and worker on the
     * benchmark's 2 cores (bench/README.md, run I) × 0.5 s ≈ 34, rounded down to 32, so that load past capacity
     * is refused at once instead of queueing for seconds. At most the worker's workflow-task slots (worker/createWorker.ts).
     */
    MAX_IN_FLIGHT: z.coerce.number().int().min(0).max(100_000).default(32),
    /**
     * The edges (addresses or CIDR blocks, comma-separated) whose X-Forwarded-For names the client. From any
     * other peer, loopback included, the socket address is the client, whatever it claims. The default is where
     * the edge of `make start` connects from; empty: believe no one.
     */
    API_TRUSTED_EDGES: cidrList('127.0.0.1'),
    /** Token requests allowed per client (an IPv4 address, an IPv6 /64) per window; 0 turns the limit off. */
    RATE_LIMIT_IP_POINTS: z.coerce.number().int().min(0).default(120),
    RATE_LIMIT_IP_WINDOW_S: z.coerce.number().int().min(1).max(86_400).default(60),
    /**
     * Token requests allowed per network around a client (an IPv4 /24, an IPv6 /56, an IPv6 /48) per
     * RATE_LIMIT_IP_WINDOW_S, so that a network handed out whole (a /48 from a tunnel broker) is not one budget
     * per /64; 0 turns the limit off.
     */
    RATE_LIMIT_NETWORK_POINTS: z.coerce.number().int().min(0).default(1200),
    /**
     * Token requests allowed per (deployment key, client network) per window, so that one network cannot spend
     * a website's budget for its other visitors; 0 turns the limit off.
     */
    RATE_LIMIT_KEY_POINTS: z.coerce.number().int().min(0).default(60),
    RATE_LIMIT_KEY_WINDOW_S: z.coerce.number().int().min(1).max(86_400).default(60),
    /**
     * Token requests per deployment key over all networks per RATE_LIMIT_KEY_WINDOW_S. No network (IPv4 /24,
     * IPv6 /56 or /48) may spend more than a tenth of it; past it, only networks that have spent at most a
     * hundredth of it in the window are served, so a flood sheds itself and not the site's other visitors.
     */
    RATE_LIMIT_KEY_TOTAL_POINTS: z.coerce.number().int().min(0).default(60_000),
    /** Most clients one in-memory limit remembers (without REDIS_URL, or while Redis is unreachable). */
    RATE_LIMIT_MEMORY_MAX_KEYS: z.coerce.number().int().min(1).max(10_000_000).default(50_000),
    /** Count the rate limits in this Redis, shared by every API instance; unset: in each instance's memory. */
    REDIS_URL: redisUrl,
    /** Prefix of the rate limits' Redis keys, so several deployments can share one Redis. */
    REDIS_KEY_PREFIX: z.string().min(1).default('webchat:rl:'),
    /** Prefix of the DPoP proofs' replay cache in Redis (shared with SAS, which checks proofs at validate). */
    REPLAY_KEY_PREFIX: z.string().min(1).default(DEFAULT_REPLAY_KEY_PREFIX),
    /**
     * The public origin the browser calls the edge at: a DPoP proof's `htu` must be this plus the route's path
     * (RFC 9449). The demo page takes the same variable.
     */
    EDGE_PUBLIC_URL: baseUrl('http://localhost:8080').refine(
      (u) => /^https?:\/\/[^/]+$/.test(u),
      'must be an http(s) origin, without a path',
    ),
    /** How long a retry with the same Idempotency-Key gets the first outcome; below the namespace retention. */
    IDEMPOTENCY_WINDOW_S: z.coerce.number().int().min(1).max(86_400).default(600),
    /** A request (headers and body) that takes longer than this is cut off (slowloris). */
    HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
    /** On SIGTERM, how long /readyz answers 503 before the server stops accepting (load balancer catch-up). */
    SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
    /**
     * Run the token workflows' worker in this process too, on the client's connection, and start runs eagerly:
     * the server hands a run's first (and only) workflow task straight back with the start, so no run goes
     * through the matching service (bench/README.md measures both layouts). The worker reads the worker's
     * variables (FAS_URL, DATABASE_URL, WORKER_METRICS_ADDRESS, ...). false: this process only starts runs, and
     * separate workers (`npm run start:worker`) run them.
     */
    API_RUN_WORKER: z.stringbool().default(true),
    DATA_DIR: dataDir,
    NODE_ENV: nodeEnv,
    /** Payload codec keys, the same as every worker's (lib/secrets/secretConfig.ts). */
    ...codecKeysVariables,
    LOG_LEVEL: logLevel,
  })
  .transform((env) => ({
    ...env,
    codecKeys: codecKeysSource(env),
  }));

export type ApiConfig = z.infer<typeof schema>;

export const loadApiConfig = (env: NodeJS.ProcessEnv = process.env): ApiConfig => parseEnv(schema, env);
