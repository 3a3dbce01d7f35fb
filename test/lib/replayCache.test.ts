import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { BoundedMemoryIds, createReplayCache, idKey, type ReplayCache } from '../../lib/replayCache';
import { createLogger } from '../../lib/logger';
import { freePorts } from '../../scripts/stack';

/** The Redis every test machine and CI runs (docs/testing.md); each run uses keys of its own. */
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('replay cache in memory', () => {
  test('an id is accepted once within its window, and again after it', async () => {
    let now = 1_000_000;
    const cache = createReplayCache({ name: 'test', now: () => now });
    assert.equal(await cache.firstUse('jti-1', 10), true);
    assert.equal(await cache.firstUse('jti-1', 10), false);
    assert.equal(await cache.firstUse('jti-2', 10), true);
    now += 9_999;
    assert.equal(await cache.firstUse('jti-1', 10), false);
    now += 1;
    assert.equal(await cache.firstUse('jti-1', 10), true);
  });

  test('bounded: when full of live ids a new one is refused, never a live one forgotten; expired ones make room', () => {
    let now = 0;
    const ids = new BoundedMemoryIds(3, () => now);
    for (const id of ['a', 'b', 'c']) assert.equal(ids.record(id, 10), 'first');
    assert.equal(ids.record('d', 10), 'full');
    assert.equal(ids.record('a', 10), 'seen');
    assert.equal(ids.size, 3);
    now = 10_000;
    assert.equal(ids.record('d', 10), 'first');
    assert.equal(ids.size, 1);
  });

  test('a full memory without Redis fails closed: the new id is refused', async () => {
    const cache = createReplayCache({ name: 'test', maxEntries: 2 });
    assert.deepEqual(
      [await cache.firstUse('a', 5), await cache.firstUse('b', 5), await cache.firstUse('c', 5)],
      [true, true, false],
    );
  });
});

describe('replay cache in Redis, shared by two instances', () => {
  const keyPrefix = `webchat-replay-test-${randomUUID()}:`;
  const caches: ReplayCache[] = [];
  const open = async (options: Partial<Parameters<typeof createReplayCache>[0]> = {}) => {
    const cache = createReplayCache({ name: 'test', redisUrl, keyPrefix, ...options });
    caches.push(cache);
    await cache.connected(2000);
    return cache;
  };
  const redis = new Redis(redisUrl, { lazyConnect: true });
  after(async () => {
    for (const cache of caches) await cache.close();
    await redis.connect().catch(() => undefined);
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  test('an id accepted by one instance is refused by the other; Redis holds its hash with the window as TTL', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const id = randomUUID();
    assert.equal(await a.firstUse(id, 15), true);
    assert.equal(await b.firstUse(id, 15), false);
    assert.equal(await a.firstUse(id, 15), false);
    await redis.connect();
    const keys = await redis.keys(`${keyPrefix}*`);
    assert.deepEqual(keys, [`${keyPrefix}${idKey(id)}`]);
    assert.ok(!keys[0]!.includes(id));
    const ttl = await redis.ttl(keys[0]!);
    assert.ok(ttl > 0 && ttl <= 15, `ttl ${ttl}`);
  });

  test('concurrent first uses of one id at both instances: exactly one wins', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const id = randomUUID();
    const results = await Promise.all([a.firstUse(id, 15), b.firstUse(id, 15)]);
    assert.deepEqual(results.sort(), [false, true]);
  });

  test('Redis unreachable: falls back to this instance’s memory at once, counts it and warns, never throws', async () => {
    const [port] = await freePorts(1);
    const lines: string[] = [];
    const registry = new Registry();
    const cache = createReplayCache({
      name: 'test',
      redisUrl: `redis://127.0.0.1:${port}`,
      keyPrefix,
      registry,
      logger: createLogger('test', 'warn', { write: (line: string) => void lines.push(line) }),
    });
    caches.push(cache);
    assert.equal(await cache.connected(300), false);
    const started = performance.now();
    assert.equal(await cache.firstUse('jti-x', 10), true);
    assert.equal(await cache.firstUse('jti-x', 10), false, 'a replay to the same instance is still refused');
    assert.ok(performance.now() - started < 1500, 'no wait on Redis');
    const metric = (await registry.getSingleMetricAsString('replay_cache_store_errors_total')).split('\n');
    assert.ok(
      metric.some((l) => l === 'replay_cache_store_errors_total{cache="test"} 1'),
      metric.join('\n'),
    );
    assert.ok(lines.some((l) => l.includes('replay cache store unavailable')));
  });
});
