import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createApp } from '../../api/app';
import type { TokenRuns } from '../../api/tokenRuns';
import { noRefresh } from '../helpers/tokenRuns';
import {
  BoundedMemoryLimiter,
  clientNetwork,
  clientNetworks,
  createRateLimits,
  type Limit,
} from '../../api/rateLimit';
import type { CreateWebchatTokenInput, CreateWebchatTokenResult } from '../../domain/contracts';
import { createLogger } from '../../lib/logger';
import { serve, type Served } from '../../lib/http/serve';

/** Counts every issuance it is asked for: a limited request must never reach it. */
class CountingIssuer implements TokenRuns {
  runRefresh = noRefresh.runRefresh;
  inputs: CreateWebchatTokenInput[] = [];
  runCreate(input: CreateWebchatTokenInput): Promise<CreateWebchatTokenResult> {
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

  const start = async (limits: {
    clientIp: Limit;
    network?: Limit;
    deploymentKey: Limit;
    deploymentKeyTotal?: Limit;
  }) => {
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

  test('attack 2 of issue 20: a flood from one IPv6 /48, a new /64 per request, spends at most 10 % of the key’s total; a visitor elsewhere is served', async () => {
    const { issuer, post } = await start({
      clientIp: { points: 0, windowSeconds: 60 },
      deploymentKey: { points: 60, windowSeconds: 60 },
      deploymentKeyTotal: { points: 100, windowSeconds: 60 },
    });
    const statuses: number[] = [];
    for (let i = 1; i <= 30; i++)
      statuses.push((await post('dk_site', `2001:db8:f100:${i.toString(16)}::1`)).status);
    assert.deepEqual(statuses, [...Array<number>(10).fill(200), ...Array<number>(20).fill(429)]);
    await assertLimited(await post('dk_site', '2001:db8:f100:ffff::1'), 60);
    // The same from one IPv4 /24, a new address per request.
    const v4: number[] = [];
    for (let i = 1; i <= 12; i++) v4.push((await post('dk_site', `203.0.113.${i}`)).status);
    assert.deepEqual(v4, [...Array<number>(10).fill(200), 429, 429]);
    // Visitors on other networks, IPv4 or IPv6, are served: the site is not locked out.
    assert.equal((await post('dk_site', '198.51.100.7')).status, 200);
    assert.equal((await post('dk_site', '2001:db8:abcd:1::1')).status, 200);
    assert.equal(issuer.inputs.length, 22);
  });

  test('past the key’s total, networks that have been spending it are shed first; networks that have not are served', async () => {
    const { post } = await start({
      clientIp: { points: 0, windowSeconds: 60 },
      deploymentKey: { points: 0, windowSeconds: 60 },
      // A tenth (10) per network; past the total, served only while a network has spent at most 1.
      deploymentKeyTotal: { points: 100, windowSeconds: 60 },
    });
    const send = async (ip: string, times: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < times; i++) statuses.push((await post('dk_busy', ip)).status);
      return statuses;
    };
    // Nine networks at their tenth, one at half of it, five visitors: the total (100) is spent.
    for (let n = 1; n <= 9; n++) assert.deepEqual(await send(`198.18.${n}.1`, 10), Array(10).fill(200));
    assert.deepEqual(await send('198.18.50.1', 5), Array(5).fill(200));
    for (let n = 1; n <= 5; n++) assert.deepEqual(await send(`198.18.${100 + n}.1`, 1), [200]);
    // The network that has been spending the key is shed; a network new to it is served, once.
    await assertLimited(await post('dk_busy', '198.18.50.2'), 60);
    assert.deepEqual(await send('192.0.2.1', 2), [200, 429]);
    assert.deepEqual(await send('2001:db8:77::1', 1), [200]);
    // Another site is untouched.
    assert.equal((await post('dk_quiet', '198.18.50.2')).status, 200);
  });

  test('per network around a client (IPv4 /24, IPv6 /56 and /48), whatever the key: checked before the body', async () => {
    const { issuer, post } = await start({
      clientIp: { points: 100, windowSeconds: 60 },
      network: { points: 3, windowSeconds: 60 },
      deploymentKey: { points: 0, windowSeconds: 60 },
    });
    for (let i = 1; i <= 3; i++) assert.equal((await post(`dk_${i}`, `203.0.113.${i}`)).status, 200);
    await assertLimited(await post('dk_4', '203.0.113.99'), 60);
    assert.equal((await post('dk_4', '203.0.114.1')).status, 200, 'the next /24 is another network');
    // One /48: three /56s and /64s of it, then a fourth is refused.
    for (const sub of ['a', 'b00', 'c00'])
      assert.equal((await post('dk_x', `2001:db8:9:${sub}::1`)).status, 200);
    await assertLimited(await post('dk_x', '2001:db8:9:d00::1'), 60);
    assert.equal(issuer.inputs.length, 7);
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
  test('the tiers: IPv4 address and /24; IPv6 /64, /56 and /48', () => {
    assert.deepEqual(clientNetworks('203.0.113.7'), { client: '203.0.113.7', networks: ['203.0.113.0/24'] });
    assert.deepEqual(clientNetworks('::ffff:203.0.113.7'), {
      client: '203.0.113.7',
      networks: ['203.0.113.0/24'],
    });
    assert.deepEqual(clientNetworks('2001:db8:1:2ff:3:4:5:6'), {
      client: '2001:db8:1:2ff::/64',
      networks: ['2001:db8:1:200::/56', '2001:db8:1::/48'],
    });
    assert.deepEqual(clientNetworks('not-an-address'), { client: 'not-an-address', networks: [] });
  });

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
