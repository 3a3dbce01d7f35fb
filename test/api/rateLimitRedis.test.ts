import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { createApp } from '../../api/app';
import type { TokenRuns } from '../../api/tokenRuns';
import { createRateLimits, limiterId, type Limit, type RateLimits } from '../../api/rateLimit';
import { serve, type Served } from '../../lib/http/serve';
import { createLogger } from '../../lib/logger';
import { freePorts } from '../../scripts/stack';
import { noRefresh } from '../helpers/tokenRuns';

/** The Redis every test machine and CI runs (docs/testing.md); each run uses keys of its own. */
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const runs: TokenRuns = {
  runRefresh: noRefresh.runRefresh,
  runCreate: () =>
    Promise.resolve({
      outcome: 'issued',
      accountSid: 'AC' + '0'.repeat(32),
      token: 'tok',
      identity: 'id',
      expiration: '2030-01-01T00:00:00.000Z',
      cors: { allowOrigin: '*', vary: false },
    }),
  ready: () => Promise.resolve(true),
};

const off: Limit = { points: 0, windowSeconds: 60 };

interface Instance {
  served: Served;
  limits: RateLimits;
  registry: Registry;
  lines: string[];
}

/** One API instance (the real app and limits, a stand-in issuer) counting its limits in `url`. */
async function startInstance(
  url: string,
  keyPrefix: string,
  limits: { clientIp: Limit; deploymentKey: Limit; deploymentKeyTotal?: Limit },
): Promise<Instance> {
  const lines: string[] = [];
  const logger = createLogger('api-test', 'info', { write: (line: string) => void lines.push(line) });
  const registry = new Registry();
  const rateLimits = createRateLimits(limits, { redisUrl: url, keyPrefix, logger, registry });
  const app = createApp({ runs, logger, deadlineMs: 1000, rateLimits });
  return { served: await serve(app, 0), limits: rateLimits, registry, lines };
}

async function stopInstance(instance: Instance): Promise<void> {
  await instance.served.close();
  await instance.limits.close();
}

const post = (instance: Instance, ip: string, deploymentKey = 'dk_a') =>
  fetch(`${instance.served.url}/v2/Webchat/Token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ deploymentKey }),
    signal: AbortSignal.timeout(5000),
  });

/** Resolves once the instance's Redis connection is ready, so a test does not start on the memory fallback. */
async function redisReady(instance: Instance): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const metric = await instance.registry.getSingleMetricAsString('rate_limit_store_errors_total');
    const res = await post(instance, '192.0.2.250', 'dk_probe');
    await res.body?.cancel();
    const after = await instance.registry.getSingleMetricAsString('rate_limit_store_errors_total');
    if (metric === after) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('Redis never became ready');
}

describe('rate limits shared through Redis', () => {
  const keyPrefix = `test:rl:${randomUUID()}:`;
  const redis = new Redis(redisUrl, { lazyConnect: true });
  let a: Instance;
  let b: Instance;

  before(async () => {
    await redis.connect();
    a = await startInstance(redisUrl, keyPrefix, {
      clientIp: { points: 5, windowSeconds: 30 },
      deploymentKey: off,
    });
    b = await startInstance(redisUrl, keyPrefix, {
      clientIp: { points: 5, windowSeconds: 30 },
      deploymentKey: off,
    });
    await redisReady(a);
    await redisReady(b);
  });
  after(async () => {
    await stopInstance(a);
    await stopInstance(b);
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  test('two API instances enforce one per-IP limit of 5: exactly 5 successes, then 429 with Retry-After', async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 8; i++) {
      const res = await post(i % 2 === 0 ? a : b, '203.0.113.50');
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
      else await res.body?.cancel();
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    assert.deepEqual(await limited?.json(), {
      code: 'rate_limited',
      message: 'Too many token requests; retry later.',
    });
    const retryAfter = Number(limited?.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 30, `Retry-After ${retryAfter}`);
    // The count lives in Redis, under this deployment's prefix, not in either process; the address is hashed.
    assert.equal(await redis.get(`${keyPrefix}ip:${limiterId('203.0.113.50')}`), '8');
    const stored = await redis.keys(`${keyPrefix}*`);
    assert.ok(stored.length > 0);
    assert.ok(
      stored.every((key) => !key.includes('203.0.113')),
      stored.join(' '),
    );
    // Another client is unaffected, through either instance.
    assert.equal((await post(b, '203.0.113.51')).status, 200);
  });

  test('attack 2 across the instances: one /48 spends at most 10 % of a key’s total; past the total, heavy networks are shed and new ones served', async () => {
    const limits = {
      clientIp: off,
      deploymentKey: off,
      deploymentKeyTotal: { points: 40, windowSeconds: 30 },
    };
    const pair = [
      await startInstance(redisUrl, keyPrefix, limits),
      await startInstance(redisUrl, keyPrefix, limits),
    ] as const;
    try {
      await redisReady(pair[0]);
      await redisReady(pair[1]);
      const send = async (ip: string, i: number) => {
        const res = await post(pair[i % 2]!, ip, 'dk_flooded_site');
        await res.body?.cancel();
        return res.status;
      };
      // A tenth of 40 per network: a /48 flood over both instances, a new /64 each time, gets 4.
      const flood: number[] = [];
      for (let i = 0; i < 8; i++) flood.push(await send(`2001:db8:ee:${i}::1`, i));
      assert.deepEqual(flood, [200, 200, 200, 200, 429, 429, 429, 429]);
      // Nine more networks spend their tenth: 40 served, the total is reached (it counts served requests only).
      for (let n = 1; n <= 9; n++) {
        for (let i = 0; i < 4; i++) assert.equal(await send(`198.18.${n}.${i + 1}`, i), 200);
      }
      // One of them again: shed. A network new to the key, through either instance: served (a hundredth: 1).
      assert.equal(await send('198.18.1.9', 0), 429);
      assert.equal(await send('192.0.2.77', 1), 200);
      assert.equal(await send('2001:db8:abc::1', 0), 200);
      assert.equal(await send('2001:db8:abc::2', 1), 429, 'now it has spent more than a hundredth');
    } finally {
      await stopInstance(pair[0]);
      await stopInstance(pair[1]);
    }
  });

  test('per (deployment key, client network) across the instances: one network’s flood leaves the site open', async () => {
    const keyed = [
      await startInstance(redisUrl, keyPrefix, {
        clientIp: off,
        deploymentKey: { points: 3, windowSeconds: 30 },
      }),
      await startInstance(redisUrl, keyPrefix, {
        clientIp: off,
        deploymentKey: { points: 3, windowSeconds: 30 },
      }),
    ] as const;
    try {
      await redisReady(keyed[0]);
      await redisReady(keyed[1]);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await post(keyed[i % 2]!, '198.51.100.77', 'dk_shared_site');
        statuses.push(res.status);
        await res.body?.cancel();
      }
      assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
      assert.equal((await post(keyed[0], '198.51.100.78', 'dk_shared_site')).status, 200);
      assert.equal((await post(keyed[1], '2001:db8:5::1', 'dk_shared_site')).status, 200);
      const stored = await redis.keys(`${keyPrefix}dk:*`);
      assert.ok(stored.length >= 3);
      assert.ok(
        stored.every((key) => !key.includes('dk_shared_site')),
        'the deployment key is not stored',
      );
    } finally {
      for (const instance of keyed) await stopInstance(instance);
    }
  });

  test('an IPv6 /64 is one client across the instances', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await post(i % 2 === 0 ? a : b, `2001:db8:77:1::${i + 1}`);
      statuses.push(res.status);
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    assert.equal((await post(a, '2001:db8:77:2::1')).status, 200);
  });
});

/** A TCP relay to the real Redis that can be cut and restored on the same port: Redis "going away". */
async function startRelay(target: URL) {
  const [port] = await freePorts(1);
  let server: Server | undefined;
  const open = new Set<Socket>();
  const up = async () => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const socket of [client, upstream]) {
        open.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => open.delete(socket));
      }
      client.pipe(upstream).pipe(client);
    }).listen(port, '127.0.0.1');
    await new Promise((resolve) => server!.once('listening', resolve));
  };
  const down = async () => {
    for (const socket of open) socket.destroy();
    await new Promise((resolve) => server?.close(resolve));
  };
  await up();
  return { url: `redis://127.0.0.1:${port}`, up, down };
}

describe('Redis going away and coming back', () => {
  test('counts in Redis, falls back to memory while it is gone (warning, metric), then counts in Redis again', async () => {
    const keyPrefix = `test:rl:${randomUUID()}:`;
    const relay = await startRelay(new URL(redisUrl));
    const redis = new Redis(redisUrl);
    const instance = await startInstance(relay.url, keyPrefix, {
      clientIp: { points: 100, windowSeconds: 60 },
      deploymentKey: off,
    });
    const ip = '203.0.113.99';
    const stored = async () => Number(await redis.get(`${keyPrefix}ip:${limiterId(ip)}`));
    const errors = async () => {
      const text = await instance.registry.getSingleMetricAsString('rate_limit_store_errors_total');
      return Number(/limit="ip"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const hit = async () => {
      const res = await post(instance, ip);
      await res.body?.cancel();
      return res.status;
    };
    try {
      await redisReady(instance);
      assert.equal(await hit(), 200);
      assert.equal(await stored(), 1);

      await relay.down();
      await new Promise((resolve) => setTimeout(resolve, 100)); // the client sees its connection close
      const before = await errors();
      assert.deepEqual([await hit(), await hit()], [200, 200]);
      assert.equal(await errors(), before + 2);
      assert.equal(await stored(), 1, 'nothing reached Redis while it was gone');

      await relay.up();
      let counted = 1;
      for (let i = 0; i < 60 && counted === 1; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(await hit(), 200);
        counted = await stored();
      }
      assert.ok(counted > 1, 'counting went back to Redis after it came back');
      const warnings = instance.lines.filter((line) => line.includes('rate limit store unavailable'));
      assert.ok(warnings.length >= 1);
    } finally {
      await stopInstance(instance);
      await relay.down();
      await redis.del(`${keyPrefix}ip:${limiterId(ip)}`, `${keyPrefix}ip:${limiterId('192.0.2.250')}`);
      await redis.quit();
    }
  });
});

describe('while Redis is unreachable', () => {
  let instance: Instance | undefined;
  let silent: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    if (instance) await stopInstance(instance);
    instance = undefined;
    for (const socket of sockets) socket.destroy();
    if (silent) await new Promise((resolve) => silent!.close(resolve));
    silent = undefined;
  });

  /** A port that just had a listener and now refuses connections. */
  const closedPort = async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return port;
  };

  const assertFailsOpen = async (target: Instance) => {
    const started = performance.now();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await post(target, '198.51.100.9');
      statuses.push(res.status);
      await res.body?.cancel();
    }
    const ms = performance.now() - started;
    // Never a 500: the limit falls back to this instance's memory, which still counts (3 allowed).
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    assert.ok(ms < 3000, `4 requests took ${Math.round(ms)} ms`);
    const metric = await target.registry.getSingleMetricAsString('rate_limit_store_errors_total');
    assert.match(metric, /rate_limit_store_errors_total\{limit="ip"\} 4/);
    const warnings = target.lines
      .map((line) => JSON.parse(line) as { level: number; msg: string; limit?: string })
      .filter((entry) => entry.level === 40 && entry.msg.startsWith('rate limit store unavailable'));
    assert.equal(warnings.length, 1, 'one warning, not one per request');
    assert.equal(warnings[0]?.limit, 'ip');
  };

  test('connection refused: no 500, the in-memory count goes on, a warning and a metric', async () => {
    const url = `redis://127.0.0.1:${await closedPort()}`;
    instance = await startInstance(url, 'test:rl:down:', {
      clientIp: { points: 3, windowSeconds: 30 },
      deploymentKey: off,
    });
    await assertFailsOpen(instance);
  });

  test('a Redis that accepts connections but never answers: the same, without waiting on it', async () => {
    silent = createServer((socket) => void sockets.push(socket)).listen(0, '127.0.0.1');
    await new Promise((resolve) => silent!.once('listening', resolve));
    const { port } = silent.address() as { port: number };
    instance = await startInstance(`redis://127.0.0.1:${port}`, 'test:rl:silent:', {
      clientIp: { points: 3, windowSeconds: 30 },
      deploymentKey: off,
    });
    await assertFailsOpen(instance);
  });
});
