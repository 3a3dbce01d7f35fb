import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from './logger';
import { closeRedis, connectRedis, redisReady } from './redis';

/**
 * "Accept this id once within a window", for ids that prove a request is fresh: the `jti` of a service
 * credential (lib/serviceAuth.ts), later the `jti` of a DPoP proof. Shared by a fleet's instances through Redis
 * when one is configured, else remembered in this process's bounded memory.
 */
export interface ReplayCache {
  /**
   * True the first time `id` is presented within `ttlSeconds`; false for every later time (a replay), and
   * false when it cannot be remembered (memory full, no Redis). Never throws, never waits long on Redis.
   */
  firstUse(id: string, ttlSeconds: number): Promise<boolean>;
  /**
   * Waits up to `timeoutMs` for the Redis connection (at once without Redis); false when it is not up yet.
   * Called at start, so that the first requests are already checked fleet-wide.
   */
  connected(timeoutMs: number): Promise<boolean>;
  /** Closes the Redis connection, if any. */
  close(): Promise<void>;
}

export interface ReplayCacheOptions {
  /** What the ids are (`service_credentials`): the metric label and the log's name for this cache. */
  name: string;
  /** Remember ids in this Redis (`redis://...`), shared by every instance; absent: in this process's memory. */
  redisUrl?: string | undefined;
  /** Prefix of every Redis key, so several deployments can share one Redis. */
  keyPrefix?: string;
  /** Most ids remembered in memory at once. */
  maxEntries?: number;
  logger?: Logger;
  /** Where `replay_cache_store_errors_total` is registered (the service's /metrics). */
  registry?: Registry;
  now?: () => number;
}

export const DEFAULT_REPLAY_KEY_PREFIX = 'webchat:replay:';

/**
 * Creates the cache. With Redis, an id is recorded with one `SET key 1 EX ttl NX`: the first instance to set it
 * wins, every other presentation at any instance sees it taken.
 *
 * While Redis fails (down, unreachable, slower than 500 ms) the cache falls back to this instance's memory
 * instead of refusing every request: a replay to the same instance is still refused, one to another instance
 * within the window is not. For service credentials that window is seconds and each credential covers one
 * request (method, path, body hash), so during an outage a captured credential can at most repeat its own
 * request once per other instance; refusing instead would turn a Redis outage into a token outage. Every
 * fallback counts in `replay_cache_store_errors_total{cache}` and logs a warning at most every 10 s.
 *
 * Every id is also recorded in memory, so a replay to the instance that saw the id is refused without a Redis
 * round trip. Memory holds at most `maxEntries` live ids: unlike a rate limit, a replay cache must not forget
 * a live id to make room, so when it is full (a flood of valid credentials, which only a secret holder can
 * mint) a new id is accepted only if Redis recorded it, and refused otherwise.
 */
export function createReplayCache(options: ReplayCacheOptions): ReplayCache {
  const now = options.now ?? Date.now;
  const memory = new BoundedMemoryIds(options.maxEntries ?? 100_000, now);
  const redis = options.redisUrl ? connectRedis(options.redisUrl, 'replay cache', options.logger) : undefined;
  const prefix = options.keyPrefix ?? DEFAULT_REPLAY_KEY_PREFIX;
  const errors = storeErrors(options.registry);
  let lastWarning = 0;

  const recordShared = async (
    redis: Redis,
    key: string,
    ttlSeconds: number,
  ): Promise<boolean | undefined> => {
    try {
      return (await redis.set(`${prefix}${key}`, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
    } catch (err) {
      errors?.inc({ cache: options.name });
      if (now() - lastWarning >= 10_000) {
        lastWarning = now();
        options.logger?.warn(
          { cache: options.name, error: err instanceof Error ? err.message : String(err) },
          'replay cache store unavailable; remembering ids on this instance only',
        );
      }
      return undefined;
    }
  };

  return {
    async firstUse(id, ttlSeconds) {
      const ttl = Math.max(1, Math.ceil(ttlSeconds));
      const key = idKey(id);
      const local = memory.record(key, ttl);
      if (local === 'seen') return false;
      const shared = redis ? await recordShared(redis, key, ttl) : undefined;
      return shared ?? local === 'first';
    },
    connected: (timeoutMs) => (redis ? redisReady(redis, timeoutMs) : Promise.resolve(true)),
    close: async () => {
      if (redis) await closeRedis(redis);
    },
  };
}

/**
 * What is stored for an id: its SHA-256, 128 bits in base64url. Every entry has the same small size however long
 * the id a client chose (a DPoP `jti` is the browser's), and no id is kept in clear.
 */
export const idKey = (id: string): string => createHash('sha256').update(id).digest('base64url').slice(0, 22);

/**
 * Ids with their expiry in a Map of at most `maxEntries`. Entries are inserted as time goes, so expired ones
 * gather at the front and are swept from there on every insert; when the map is still full, one full pass drops
 * every expired entry wherever it is, and if none expired the new id is not remembered ('full').
 */
export class BoundedMemoryIds {
  private readonly expiries = new Map<string, number>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.expiries.size;
  }

  record(key: string, ttlSeconds: number): 'first' | 'seen' | 'full' {
    const now = this.now();
    const expiry = this.expiries.get(key);
    if (expiry !== undefined && expiry > now) return 'seen';
    this.expiries.delete(key);
    for (const [k, e] of this.expiries) {
      if (e > now) break;
      this.expiries.delete(k);
    }
    if (this.expiries.size >= this.maxEntries) {
      for (const [k, e] of this.expiries) if (e <= now) this.expiries.delete(k);
      if (this.expiries.size >= this.maxEntries) return 'full';
    }
    this.expiries.set(key, now + ttlSeconds * 1000);
    return 'first';
  }
}

function storeErrors(registry: Registry | undefined): Counter<'cache'> | undefined {
  if (!registry) return undefined;
  const name = 'replay_cache_store_errors_total';
  return (
    (registry.getSingleMetric(name) as Counter<'cache'> | undefined) ??
    new Counter({
      name,
      help: 'Replay-cache checks that fell back to this instance’s memory because the shared store (Redis) failed.',
      labelNames: ['cache'],
      registers: [registry],
    })
  );
}

/** Where a process remembers ids: the fleet's Redis (and a key prefix), else its own memory. */
export interface ReplaySettings {
  redisUrl?: string | undefined;
  keyPrefix?: string | undefined;
}

/**
 * A replay cache named `name` (its metric label), as configured: in the fleet's Redis when `redisUrl` is set
 * (waiting up to 2 s for it at start, so the first requests are already checked fleet-wide), else in this
 * process.
 */
export async function openReplayCache(
  name: string,
  settings: ReplaySettings | undefined,
  logger: Logger,
  registry?: Registry,
): Promise<ReplayCache> {
  const replays = createReplayCache({
    name,
    redisUrl: settings?.redisUrl,
    ...(settings?.keyPrefix ? { keyPrefix: settings.keyPrefix } : {}),
    logger,
    ...(registry ? { registry } : {}),
  });
  if (!(await replays.connected(2000))) {
    logger.warn(
      { cache: name },
      'replay cache (Redis) not reachable yet: ids are checked on this instance until it is',
    );
  }
  return replays;
}
