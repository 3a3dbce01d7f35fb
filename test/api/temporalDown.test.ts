import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Connection } from '@temporalio/client';
import { createApp } from '../../api/app';
import { temporalTokenRuns } from '../../api/temporalTokenRuns';
import { createLogger } from '../../lib/logger';
import { serve, type Served } from '../../lib/http/serve';
import { freePorts } from '../../scripts/stack';

/**
 * Temporal stopped (connections refused): the SDK keeps trying to connect well past the abort signal (about 20 s
 * was measured for a 1 s deadline), so the API must enforce its deadline itself. A 5 s client-side guard turns
 * such an overrun into a failure.
 */
describe('the API with Temporal down', () => {
  let served: Served;
  let connection: Connection;

  before(async () => {
    const [port] = await freePorts(1);
    connection = Connection.lazy({ address: `127.0.0.1:${port}` });
    const logger = createLogger('api-test', 'silent');
    const issuer = temporalTokenRuns({ connection, namespace: 'default', logger });
    served = await serve(createApp({ runs: issuer, logger, deadlineMs: 500 }), 0);
  });
  // The connection is not closed: closing it while the SDK still retries its connect makes the SDK throw
  // "Channel has been shut down" from a promise nobody holds. It gives up on its own.
  after(() => served?.close());

  for (const idempotencyKey of [undefined, 'retry-key-1']) {
    test(`a token request ${idempotencyKey ? 'with' : 'without'} Idempotency-Key: 503 + Retry-After at its deadline`, async () => {
      const res = await fetch(`${served.url}/v2/Webchat/Token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        },
        body: JSON.stringify({ deploymentKey: 'dk_demo_open' }),
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '2');
      assert.deepEqual(await res.json(), {
        code: 'unavailable',
        message: 'Token issuance is temporarily unavailable.',
      });
    });
  }

  test('/readyz answers 503 not_ready instead of waiting for the connection', async () => {
    const res = await fetch(`${served.url}/readyz`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { status: 'not_ready' });
  });
});
