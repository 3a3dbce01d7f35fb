import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Context, Middleware } from 'koa';
import { Counter, type Registry } from 'prom-client';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../domain/errors';
import { parseIpv4, parseIpv6 } from '../lib/fingerprint/ipPrefix';
import type { Logger } from '../lib/logger';
import { closeRedis, connectRedis } from '../lib/redis';

/** Requests allowed per window; `points: 0` turns the limit off. */
export interface Limit {
  points: number;
  windowSeconds: number;
}

/** Where the limits are counted. */
export interface RateLimitStore {
  /** Count in this Redis (`redis://...`), shared by every API instance; absent: in this process's memory. */
  redisUrl?: string | undefined;
  /** Prefix of every Redis key, so several deployments (or tests) can share one Redis. */
  keyPrefix?: string;
  /** Most keys one in-memory limit remembers (each limit, and the insurance limits used while Redis is down). */
  memoryMaxKeys?: number;
  logger?: Logger;
  /** Where `rate_limit_store_errors_total` is registered (the API's /metrics). */
  registry?: Registry;
}

/** What the limits of one API share: the Redis connection, the key prefix, the bound, the log and the metric. */
interface SharedStore {
  redis?: Redis;
  keyPrefix: string;
  memoryMaxKeys: number;
  logger?: Logger;
  errors?: Counter<'limit'>;
}

/** One counted request: allowed, or refused until `msBeforeNext` has passed. */
interface Verdict {
  allowed: boolean;
  msBeforeNext: number;
}

/**
 * Fixed-window counters in a Map that never holds more than `maxKeys` entries. A Map iterates in insertion order
 * and every window is equally long, so the first entry is always the one that expires soonest: expired entries
 * are swept from the front, and when the map is still full the front entry is dropped (that client starts a new
 * window early; a flood of junk keys costs memory for at most `maxKeys` of them, about 15 MB per 50k).
 */
export class BoundedMemoryLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limit: Limit,
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.windows.size;
  }

  consume(key: string): Verdict {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      if (window) this.windows.delete(key); // re-inserted at the back: the order stays that of expiry
      this.makeRoom(now);
      window = { count: 0, resetAt: now + this.limit.windowSeconds * 1000 };
      this.windows.set(key, window);
    }
    window.count++;
    return { allowed: window.count <= this.limit.points, msBeforeNext: window.resetAt - now };
  }

  private makeRoom(now: number): void {
    for (const [key, window] of this.windows) {
      if (this.windows.size < this.maxKeys && window.resetAt > now) return;
      this.windows.delete(key);
    }
  }
}

/**
 * A named limit over some key of a request. In memory it counts per API instance; with Redis, once for the whole
 * fleet. While Redis fails (down, unreachable, too slow) the limit fails open to an in-memory count of this
 * instance (so a flood is still slowed, per instance), logs a warning at most every 10 s and counts each
 * fallback in `rate_limit_store_errors_total`: a request is never refused with a 500 because of Redis.
 */
export class RateLimit {
  private readonly memory: BoundedMemoryLimiter | undefined;
  private readonly redis: RateLimiterRedis | undefined;
  private lastWarning = 0;

  constructor(
    readonly name: string,
    limit: Limit,
    private readonly shared: SharedStore,
  ) {
    if (limit.points <= 0) return;
    this.memory = new BoundedMemoryLimiter(limit, shared.memoryMaxKeys);
    if (shared.redis) {
      this.redis = new RateLimiterRedis({
        storeClient: shared.redis,
        keyPrefix: `${shared.keyPrefix}${name}`,
        points: limit.points,
        duration: limit.windowSeconds,
        rejectIfRedisNotReady: true, // fail over at once instead of queueing behind a reconnect
      });
    }
  }

  /** Counts one request for `key`; throws `rate_limited` (429 + Retry-After) once the window is used up. */
  async consume(key: string): Promise<void> {
    if (!this.memory) return;
    const id = limiterId(key);
    const verdict = this.redis ? await this.consumeShared(id) : this.memory.consume(id);
    if (verdict.allowed) return;
    const seconds = Math.max(1, Math.ceil(verdict.msBeforeNext / 1000));
    throw new AppError('rate_limited', 'Too many token requests; retry later.', {
      'Retry-After': String(seconds),
    });
  }

  private async consumeShared(key: string): Promise<Verdict> {
    try {
      const res = await this.redis!.consume(key);
      return { allowed: true, msBeforeNext: res.msBeforeNext };
    } catch (err) {
      if (err instanceof RateLimiterRes) return { allowed: false, msBeforeNext: err.msBeforeNext };
      this.shared.errors?.inc({ limit: this.name });
      const now = Date.now();
      if (now - this.lastWarning >= 10_000) {
        this.lastWarning = now;
        this.shared.logger?.warn(
          { limit: this.name, error: err instanceof Error ? err.message : String(err) },
          'rate limit store unavailable; counting in memory on this instance',
        );
      }
      return this.memory!.consume(key);
    }
  }
}

/** The limits of the public token routes (create and refresh share them: both mint tokens). */
export interface RateLimits {
  /** Per client network (`clientNetwork`), checked before the body is read. */
  clientIp: { middleware(ipOf: (ctx: Context) => string): Middleware };
  /**
   * Per (deployment key, client network), so that one network cannot spend a site's budget for its other
   * visitors; then per deployment key over all networks, a high cap that only a fleet-wide flood reaches.
   */
  deploymentKey: { consume(deploymentKey: string, clientIp: string): Promise<void> };
  /** Closes the Redis connection, if any. */
  close(): Promise<void>;
}

export function createRateLimits(
  limits: { clientIp: Limit; deploymentKey: Limit; deploymentKeyTotal?: Limit },
  store: RateLimitStore = {},
): RateLimits {
  const redis = store.redisUrl ? connectRedis(store.redisUrl, 'rate limit store', store.logger) : undefined;
  const errors = new Counter({
    name: 'rate_limit_store_errors_total',
    help: 'Rate-limit checks that fell back to this instance’s memory because the shared store (Redis) failed.',
    labelNames: ['limit'],
    registers: store.registry ? [store.registry] : [],
  });
  const shared = {
    ...(redis ? { redis } : {}),
    ...(store.logger ? { logger: store.logger } : {}),
    keyPrefix: store.keyPrefix ?? 'webchat:rl:',
    memoryMaxKeys: store.memoryMaxKeys ?? 50_000,
    errors,
  };
  const perIp = new RateLimit('ip', limits.clientIp, shared);
  const perKey = new RateLimit('dk', limits.deploymentKey, shared);
  const perKeyTotal = new RateLimit(
    'dkall',
    limits.deploymentKeyTotal ?? { points: 0, windowSeconds: 1 },
    shared,
  );
  return {
    clientIp: {
      middleware: (ipOf) => async (ctx, next) => {
        await perIp.consume(clientNetwork(ipOf(ctx)));
        await next();
      },
    },
    deploymentKey: {
      consume: async (deploymentKey, clientIp) => {
        await perKey.consume(`${deploymentKey}|${clientNetwork(clientIp)}`);
        await perKeyTotal.consume(deploymentKey);
      },
    },
    close: async () => {
      if (redis) await closeRedis(redis);
    },
  };
}

/**
 * What a limit stores for `key` (a deployment key and a client address, both treated as secrets here, see
 * lib/logger.ts): its SHA-256, 128 bits in base64url. Neither reaches Redis in clear text, and every entry has
 * the same small size however long the junk a client sends. (Unkeyed: an IPv4 address could be found again by
 * trying all 2^32, but only by someone who can read the Redis, for a key that lives one window.)
 */
export function limiterId(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 22);
}

/**
 * The network a client is counted by: an IPv4 address as it is, an IPv6 address by its /64 (one subscriber
 * usually holds a whole /64, so counting single IPv6 addresses would give each one 2^64 budgets).
 */
export function clientNetwork(ip: string): string {
  const v4 = parseIpv4(ip);
  if (v4) return v4.join('.');
  const v6 = parseIpv6(ip);
  if (!v6) return ip; // not an address (a test client, a unix socket): counted as it is
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) {
    const [hi = 0, lo = 0] = v6.slice(6);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`; // IPv4-mapped: the IPv4 client
  }
  return `${v6
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}
