import { Redis } from 'ioredis';
import type { Logger } from './logger';

/**
 * A Redis connection that never makes a request wait for it: no offline queue (a command while disconnected
 * fails at once), a short connect and command timeout, and reconnection in the background. Its users (the
 * rate limits, the replay cache) each decide what a failed command means; `what` names the user in the
 * connection warning, logged at most every 10 s.
 */
export function connectRedis(url: string, what: string, logger?: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    commandTimeout: 500,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let lastWarning = 0;
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastWarning < 10_000) return;
    lastWarning = now;
    logger?.warn({ error: err.message }, `${what} (Redis) connection failed; retrying`);
  });
  return redis;
}

/** Closes a connection made by `connectRedis`, politely if it can. */
export async function closeRedis(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}

/** Resolves true once `redis` is ready, false when it is not within `timeoutMs`. */
export function redisReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}
