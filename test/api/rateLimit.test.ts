import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createApp } from '../../api/app';
import type { TokenRuns } from '../../api/tokenRuns';
import { noRefresh } from '../helpers/tokenRuns';
import { BoundedMemoryLimiter, clientNetwork, createRateLimits, type Limit } from '../../api/rateLimit';
import type { CreateWebchatTokenInput, CreateWebchatTokenResult } from '../../domain/contracts';
import { createLogger } from '../../lib/logger';
import { serve, type Served } from '../../lib/http/serve';

/** Counts every issuance it is asked for: a limited request must never reach it. */
class CountingIssuer implements TokenRuns {
  refreshToken = noRefresh.refreshToken;
  inputs: CreateWebchatTokenInput[] = [];
  createToken(input: CreateWebchatTokenInput): Promise<CreateWebchatTokenResult> {
    this.inputs.push(input);
    return Promise.resolve({
      outcome: 'issued',
      accountSid: 'AC' + '0'.repeat(32),
      token: `tok-${this.inputs.length}`,
      identity: `id-${this.inputs.length}`,
      expiration: '2030-01-01T00:00:00.000Z',
      cors: { allowOrigin: '*', vary: false },
    });
  }
  ready() {
    return Promise.resolve(true);
  }
}

describe('rate limits on POST /v2/Webchat/Token', () => {
  let served: Served | undefined;
  afterEach(() => served?.close());

  const start = async (limits: { clientIp: Limit; deploymentKey: Limit; deploymentKeyTotal?: Limit }) => {
    const issuer = new CountingIssuer();
    const app = createApp({
      runs: issuer,
      logger: createLogger('api-test', 'silent'),
      deadlineMs: 1000,
      rateLimits: createRateLimits(limits),
    });
    served = await serve(app, 0);
    const post = (deploymentKey: string, ip: string) =>
      fetch(`${served!.url}/v2/Webchat/Token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
        body: JSON.stringify({ deploymentKey }),
      });
    return { issuer, post };
  };

  const assertLimited = async (res: Response, maxRetryAfter: number) => {
    assert.equal(res.status, 429);
    assert.deepEqual(await res.json(), {
      code: 'rate_limited',
      message: 'Too many token requests; retry later.',
    });
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= maxRetryAfter, `Retry-After ${retryAfter}`);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  };

  test('per client IP: the request past the limit is 429 and never reaches the issuer; other IPs go on', async () => {
    const { issuer, post } = await start({
      clientIp: { points: 3, windowSeconds: 30 },
      deploymentKey: { points: 0, windowSeconds: 60 },
    });
    for (const key of ['dk_a', 'dk_b', 'dk_c']) assert.equal((await post(key, '203.0.113.7')).status, 200);
    await assertLimited(await post('dk_d', '203.0.113.7'), 30);
    assert.deepEqual(
      issuer.inputs.map((i) => i.deploymentKey),
      ['dk_a', 'dk_b', 'dk_c'],
    );
    assert.equal((await post('dk_d', '203.0.113.8')).status, 200);
    assert.equal(issuer.inputs.length, 4);
  });

  test('per deployment key over all networks (the circuit breaker): past it, 429 from any IP; other sites go on', async () => {
    const { issuer, post } = await start({
      clientIp: { points: 0, windowSeconds: 60 },
      deploymentKey: { points: 0, windowSeconds: 10 },
      deploymentKeyTotal: { points: 2, windowSeconds: 10 },
    });
    assert.equal((await post('dk_busy', '198.51.100.1')).status, 200);
    assert.equal((await post('dk_busy', '198.51.100.2')).status, 200);
    await assertLimited(await post('dk_busy', '198.51.100.3'), 10);
    assert.equal(issuer.inputs.length, 2);
    assert.equal((await post('dk_quiet', '198.51.100.3')).status, 200);
    assert.equal(issuer.inputs.length, 3);
  });

  test('per (deployment key, client network): one network past its budget leaves the site open to the others', async () => {
    const { issuer, post } = await start({
      clientIp: { points: 0, windowSeconds: 60 },
      deploymentKey: { points: 2, windowSeconds: 20 },
      deploymentKeyTotal: { points: 100, windowSeconds: 20 },
    });
    assert.equal((await post('dk_site', '198.51.100.1')).status, 200);
    assert.equal((await post('dk_site', '198.51.100.1')).status, 200);
    await assertLimited(await post('dk_site', '198.51.100.1'), 20);
    // The same network on another site, and other networks on this site, still have their own budgets.
    assert.equal((await post('dk_other', '198.51.100.1')).status, 200);
    assert.equal((await post('dk_site', '198.51.100.2')).status, 200);
    assert.equal((await post('dk_site', '2001:db8:1:2::1')).status, 200);
    assert.equal((await post('dk_site', '2001:db8:1:2::2')).status, 200);
    // ...but every address of one IPv6 /64 is one network.
    await assertLimited(await post('dk_site', '2001:db8:1:2:ffff::3'), 20);
    assert.equal(issuer.inputs.length, 6);
  });

  test('per client IP, an IPv6 /64 is one client; another /64 is another', async () => {
    const { issuer, post } = await start({
      clientIp: { points: 2, windowSeconds: 30 },
      deploymentKey: { points: 0, windowSeconds: 60 },
    });
    assert.equal((await post('dk_a', '2001:db8:aa:1::1')).status, 200);
    assert.equal((await post('dk_a', '2001:0db8:00aa:0001:1234:5678:9abc:def0')).status, 200);
    await assertLimited(await post('dk_a', '2001:db8:aa:1:ffff:ffff:ffff:ffff'), 30);
    assert.equal((await post('dk_a', '2001:db8:aa:2::1')).status, 200);
    assert.equal(issuer.inputs.length, 3);
  });

  test('the IP limit is checked before the body is read: a limited bad body is 429, not 400', async () => {
    const { post } = await start({
      clientIp: { points: 1, windowSeconds: 60 },
      deploymentKey: { points: 0, windowSeconds: 60 },
    });
    assert.equal((await post('dk_a', '192.0.2.1')).status, 200);
    const res = await fetch(`${served!.url}/v2/Webchat/Token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.1' },
      body: '{not json',
    });
    await assertLimited(res, 60);
  });

  test('points 0 turns a limit off', async () => {
    const { issuer, post } = await start({
      clientIp: { points: 0, windowSeconds: 1 },
      deploymentKey: { points: 0, windowSeconds: 1 },
    });
    const statuses = await Promise.all(Array.from({ length: 20 }, () => post('dk_a', '192.0.2.9')));
    assert.deepEqual(
      statuses.map((r) => r.status),
      Array.from({ length: 20 }, () => 200),
    );
    assert.equal(issuer.inputs.length, 20);
  });
});

describe('client networks', () => {
  test('IPv4 is counted by address, IPv6 by its /64, an IPv4-mapped IPv6 address as the IPv4 one', () => {
    assert.equal(clientNetwork('203.0.113.7'), '203.0.113.7');
    assert.equal(clientNetwork('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(clientNetwork('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientNetwork('2001:0DB8:0000:0000:ffff:1:2:3'), '2001:db8:0:0::/64');
    assert.equal(clientNetwork('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(clientNetwork('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(clientNetwork('::1'), '0:0:0:0::/64');
    assert.equal(clientNetwork('64:ff9b::192.0.2.33'), '64:ff9b:0:0::/64');
  });
});

describe('the in-memory limiter is bounded', () => {
  test('200k junk keys leave at most maxKeys entries, and a window still counts to its limit', () => {
    const limiter = new BoundedMemoryLimiter({ points: 3, windowSeconds: 60 }, 1000);
    for (let i = 0; i < 200_000; i++) limiter.consume(`junk-${i}`);
    assert.equal(limiter.size, 1000);
    const verdicts = Array.from({ length: 4 }, () => limiter.consume('real').allowed);
    assert.deepEqual(verdicts, [true, true, true, false]);
    assert.equal(limiter.size, 1000);
  });

  test('expired windows are swept first, so a live window is not evicted while dead ones remain', () => {
    let now = 0;
    const limiter = new BoundedMemoryLimiter({ points: 1, windowSeconds: 1 }, 3, () => now);
    limiter.consume('old-1');
    limiter.consume('old-2');
    now = 500;
    assert.equal(limiter.consume('live').allowed, true);
    now = 1200; // old-1 and old-2 have expired, live has not
    limiter.consume('new-1');
    limiter.consume('new-2');
    assert.equal(limiter.size, 3);
    assert.equal(limiter.consume('live').allowed, false, 'live kept its count');
    now = 1500;
    const fresh = limiter.consume('live');
    assert.equal(fresh.allowed, true, 'a new window after expiry');
    assert.equal(fresh.msBeforeNext, 1000);
  });

  test('200k junk client networks at the default bound (50k keys) retain under 25 MB, not ~150 MB', () => {
    // Measured after a full collection, so the garbage of evicted entries does not count.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    const limiter = new BoundedMemoryLimiter({ points: 1, windowSeconds: 60 }, 50_000);
    for (let i = 0; i < 200_000; i++) limiter.consume(`dk_junk_${i}|198.51.${(i >> 8) & 255}.${i & 255}`);
    gc();
    const retained = (process.memoryUsage().heapUsed - before) / 1e6;
    console.log(`200k junk keys at the default bound: ${retained.toFixed(1)} MB retained`);
    assert.equal(limiter.size, 50_000);
    assert.ok(retained < 25, `retained ${retained.toFixed(1)} MB`);
  });
});
