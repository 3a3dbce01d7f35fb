import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Context, Middleware } from 'koa';
import { Counter, type Registry } from 'prom-client';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../domain/errors';
import { ipv4Of, parseIpv6 } from '../lib/http/clientAddress';
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

/** One counted request: allowed, or refused until `msBeforeNext` has passed; `consumed` counts this window. */
interface Verdict {
  allowed: boolean;
  msBeforeNext: number;
  consumed: number;
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
    return {
      allowed: window.count <= this.limit.points,
      msBeforeNext: window.resetAt - now,
      consumed: window.count,
    };
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
class RateLimit {
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

  /** Whether this limit counts at all (`points` above 0). */
  get enabled(): boolean {
    return this.memory !== undefined;
  }

  /** Counts one request for `key` and says whether it is within the window (always, when the limit is off). */
  async count(key: string): Promise<Verdict> {
    if (!this.memory) return { allowed: true, msBeforeNext: 0, consumed: 0 };
    const id = limiterId(key);
    return this.redis ? this.consumeShared(id) : this.memory.consume(id);
  }

  /** Counts one request for `key`; throws `rate_limited` (429 + Retry-After) once the window is used up. */
  async consume(key: string): Promise<void> {
    refuseIfOver([await this.count(key)]);
  }

  private async consumeShared(key: string): Promise<Verdict> {
    try {
      const res = await this.redis!.consume(key);
      return { allowed: true, msBeforeNext: res.msBeforeNext, consumed: res.consumedPoints };
    } catch (err) {
      if (err instanceof RateLimiterRes) {
        return { allowed: false, msBeforeNext: err.msBeforeNext, consumed: err.consumedPoints };
      }
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

/** Throws `rate_limited` (429, Retry-After: the longest wait among the refusals) unless every verdict allows. */
function refuseIfOver(verdicts: Verdict[]): void {
  const refused = verdicts.filter((v) => !v.allowed);
  if (refused.length === 0) return;
  const ms = Math.max(...refused.map((v) => v.msBeforeNext));
  throw new AppError('rate_limited', 'Too many token requests; retry later.', {
    'Retry-After': String(Math.max(1, Math.ceil(ms / 1000))),
  });
}

/** The most of a deployment key's total (per window) one network (IPv4 /24, IPv6 /56 or /48) may spend. */
const NETWORK_SHARE_OF_KEY_TOTAL = 0.1;
/**
 * Past a key's total, a request is still served when its widest network (IPv4 /24, IPv6 /48) has spent at most
 * this share of the total in the window: a network that has hardly used the key is a visitor, not the flood.
 */
const LIGHT_SHARE_OF_KEY_TOTAL = 0.01;

/** The limits of the public token routes (create and refresh share them: both mint tokens). */
export interface RateLimits {
  /** Per client (`clientNetworks`) and per network around it, checked before the body is read. */
  clientIp: { middleware(ipOf: (ctx: Context) => string): Middleware };
  /**
   * Per (deployment key, client), so that one client cannot spend a website's budget for its other visitors;
   * per (deployment key, network), where no network may spend more than a tenth of the key's total; and the
   * key's total over all networks, past which only networks that have hardly spent it are served.
   */
  deploymentKey: { consume(deploymentKey: string, clientIp: string): Promise<void> };
  /** Closes the Redis connection, if any. */
  close(): Promise<void>;
}

export function createRateLimits(
  limits: {
    /** Per client: an IPv4 address, an IPv6 /64. */
    clientIp: Limit;
    /** Per network around a client: an IPv4 /24, an IPv6 /56 and /48 (absent: off). */
    network?: Limit;
    /** Per (deployment key, client). */
    deploymentKey: Limit;
    /** Per deployment key over all networks (absent: off); a tenth of it per (key, network). */
    deploymentKeyTotal?: Limit;
  },
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
  const off: Limit = { points: 0, windowSeconds: 1 };
  const total = limits.deploymentKeyTotal ?? off;
  const perIp = new RateLimit('ip', limits.clientIp, shared);
  const perNetwork = new RateLimit('net', limits.network ?? off, shared);
  const perKey = new RateLimit('dk', limits.deploymentKey, shared);
  const perKeyNetwork = new RateLimit(
    'dknet',
    { points: share(total.points, NETWORK_SHARE_OF_KEY_TOTAL), windowSeconds: total.windowSeconds },
    shared,
  );
  const perKeyTotal = new RateLimit('dkall', total, shared);
  const light = share(total.points, LIGHT_SHARE_OF_KEY_TOTAL);
  return {
    clientIp: {
      middleware: (ipOf) => async (ctx, next) => {
        const { client, networks } = clientNetworks(ipOf(ctx));
        refuseIfOver(await Promise.all([perIp.count(client), ...networks.map((n) => perNetwork.count(n))]));
        await next();
      },
    },
    deploymentKey: {
      consume: async (deploymentKey, clientIp) => {
        const { client, networks } = clientNetworks(clientIp);
        const [perClient, ...perNetworks] = await Promise.all([
          perKey.count(`${deploymentKey}|${client}`),
          ...networks.map((n) => perKeyNetwork.count(`${deploymentKey}|${n}`)),
        ]);
        // Refused here, a request spends none of the key's total: one network's flood cannot fill it alone.
        refuseIfOver([perClient, ...perNetworks]);
        const verdict = await perKeyTotal.count(deploymentKey);
        if (verdict.allowed) return;
        // Past the total, shed the networks that have been spending the key; serve the ones that have not.
        const widest = perNetworks.at(-1) ?? perClient;
        if (perKeyNetwork.enabled && widest.consumed <= light) return;
        refuseIfOver([verdict]);
      },
    },
    close: async () => {
      if (redis) await closeRedis(redis);
    },
  };
}

/** `fraction` of `points`, at least 1 (0 stays 0: off). */
const share = (points: number, fraction: number) =>
  points > 0 ? Math.max(1, Math.floor(points * fraction)) : 0;

/**
 * What a limit stores for `key` (a deployment key and a client address, both treated as secrets here, see
 * lib/logger.ts): its SHA-256, 128 bits in base64url. Neither reaches Redis in clear text, and every entry has
 * the same small size however long the junk a client sends. (Unkeyed: an IPv4 address could be found again by
 * trying all 2^32, but only by someone who can read the Redis, for a key that lives one window.)
 */
export function limiterId(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 22);
}

/** The client and the networks around it that the limits count it in, narrowest first. */
export interface ClientNetworks {
  /** An IPv4 address, an IPv6 /64 (one subscriber usually holds a whole /64), or a non-address as it is. */
  client: string;
  /** IPv4: its /24. IPv6: its /56 and /48 (tunnel brokers hand out a /48 for free). */
  networks: string[];
}

/**
 * The networks a client is counted by. Counting single IPv6 addresses would give each subscriber 2^64 budgets,
 * and counting only /64s gives the holder of a /48 65,536; so every tier is counted, and each is limited.
 */
export function clientNetworks(ip: string): ClientNetworks {
  const v4 = ipv4Of(ip);
  if (v4) return { client: v4.join('.'), networks: [`${v4.slice(0, 3).join('.')}.0/24`] };
  const v6 = parseIpv6(ip);
  if (!v6) return { client: ip, networks: [] }; // not an address (a test client, a unix socket): as it is
  const prefix = (groups: number, bits: number) =>
    `${v6
      .slice(0, groups)
      .map((g, i) => (i === groups - 1 && bits % 16 !== 0 ? g & 0xff00 : g).toString(16))
      .join(':')}::/${bits}`;
  return { client: prefix(4, 64), networks: [prefix(4, 56), prefix(3, 48)] };
}

/** The network a client is counted by as one client (`clientNetworks(ip).client`). */
export const clientNetwork = (ip: string): string => clientNetworks(ip).client;
