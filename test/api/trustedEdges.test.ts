import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createApp } from '../../api/app';
import { loadApiConfig } from '../../api/config';
import { createRateLimits } from '../../api/rateLimit';
import type { TokenRuns } from '../../api/tokenRuns';
import type { CreateWebchatTokenInput, CreateWebchatTokenResult } from '../../domain/contracts';
import { serve, type Served } from '../../lib/http/serve';
import { createLogger } from '../../lib/logger';
import { httpRequest } from '../helpers/httpRequest';
import { noRefresh } from '../helpers/tokenRuns';

/** Records the client address each run was started for. */
class RecordingRuns implements TokenRuns {
  runRefresh = noRefresh.runRefresh;
  clients: (string | undefined)[] = [];
  runCreate(input: CreateWebchatTokenInput): Promise<CreateWebchatTokenResult> {
    this.clients.push(input.signals.clientIp);
    return Promise.resolve({
      outcome: 'issued',
      accountSid: 'AC' + '0'.repeat(32),
      token: 'tok',
      identity: 'id',
      expiration: '2030-01-01T00:00:00.000Z',
      cors: { allowOrigin: '*', vary: false },
    });
  }
  ready() {
    return Promise.resolve(true);
  }
}

const IP_LIMIT = 3;

/**
 * Attack 5 of issue 20: a caller that reaches the API beside the edge picks a new X-Forwarded-For per request
 * and is never limited. The API believes X-Forwarded-For only from the peers in API_TRUSTED_EDGES (default
 * 127.0.0.1, where the edge of `make start` connects from); another loopback address (127.0.0.2) is a client.
 */
describe('X-Forwarded-For is believed from the trusted edges only', () => {
  const build = async (trustedEdges?: readonly string[]) => {
    const runs = new RecordingRuns();
    const app = createApp({
      runs,
      logger: createLogger('api-test', 'silent'),
      deadlineMs: 1000,
      ...(trustedEdges ? { trustedEdges } : {}),
      rateLimits: createRateLimits({
        clientIp: { points: IP_LIMIT, windowSeconds: 60 },
        deploymentKey: { points: 0, windowSeconds: 60 },
      }),
    });
    return { runs, served: await serve(app, 0) };
  };
  let defaults: Awaited<ReturnType<typeof build>>;
  before(async () => {
    defaults = await build();
  });
  after(() => defaults.served.close());

  const post = (served: Served, forwardedFor: string, localAddress: string) =>
    httpRequest(`${served.url}/v2/Webchat/Token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
      body: JSON.stringify({ deploymentKey: 'dk_demo_open' }),
      localAddress,
    });

  test('beside the edge (127.0.0.2), a new X-Forwarded-For per request: the peer is the client, limited at once', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= IP_LIMIT + 2; i++) {
      statuses.push((await post(defaults.served, `198.51.100.${i}`, '127.0.0.2')).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    assert.deepEqual(defaults.runs.clients, ['127.0.0.2', '127.0.0.2', '127.0.0.2']);
  });

  test('through the edge (127.0.0.1): the client it names is the client, each with its own budget', async () => {
    defaults.runs.clients = [];
    for (let i = 1; i <= IP_LIMIT + 2; i++) {
      assert.equal((await post(defaults.served, `203.0.113.${i}`, '127.0.0.1')).status, 200);
    }
    assert.deepEqual(
      defaults.runs.clients,
      [1, 2, 3, 4, 5].map((i) => `203.0.113.${i}`),
    );
  });

  test('an edge that lists hops: the rightmost untrusted one, never a hop the client wrote to its left', async () => {
    defaults.runs.clients = [];
    await post(defaults.served, '6.6.6.6, 203.0.113.50', '127.0.0.1');
    assert.deepEqual(defaults.runs.clients, ['203.0.113.50']);
  });

  test('API_TRUSTED_EDGES empty: no peer is believed, not even 127.0.0.1', async () => {
    const { runs, served } = await build([]);
    try {
      await post(served, '203.0.113.9', '127.0.0.1');
      assert.deepEqual(runs.clients, ['127.0.0.1']);
    } finally {
      await served.close();
    }
  });

  test('API_TRUSTED_EDGES: 127.0.0.1 by default, a CIDR list otherwise, and a bad entry stops the start', () => {
    assert.deepEqual(loadApiConfig({}).API_TRUSTED_EDGES, ['127.0.0.1']);
    assert.deepEqual(loadApiConfig({ API_TRUSTED_EDGES: '10.0.0.0/24, fd00::1' }).API_TRUSTED_EDGES, [
      '10.0.0.0/24',
      'fd00::1',
    ]);
    assert.deepEqual(loadApiConfig({ API_TRUSTED_EDGES: '' }).API_TRUSTED_EDGES, []);
    assert.throws(() => loadApiConfig({ API_TRUSTED_EDGES: 'edge.internal' }), /API_TRUSTED_EDGES: must be/);
  });
});
