import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { createApp } from '../../api/app';
import type { TokenRuns } from '../../api/tokenRuns';
import { noRefresh } from '../helpers/tokenRuns';
import { createRateLimits, type Limit } from '../../api/rateLimit';
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

  const start = async (limits: { clientIp: Limit; deploymentKey: Limit }) => {
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

  test('per deployment key: one site past its limit is 429 from any IP; other sites go on', async () => {
    const { issuer, post } = await start({
      clientIp: { points: 0, windowSeconds: 60 },
      deploymentKey: { points: 2, windowSeconds: 10 },
    });
    assert.equal((await post('dk_busy', '198.51.100.1')).status, 200);
    assert.equal((await post('dk_busy', '198.51.100.2')).status, 200);
    await assertLimited(await post('dk_busy', '198.51.100.3'), 10);
    assert.equal(issuer.inputs.length, 2);
    assert.equal((await post('dk_quiet', '198.51.100.3')).status, 200);
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
