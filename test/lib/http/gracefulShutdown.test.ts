import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, test } from 'node:test';
import { createApp } from '../../../api/app';
import type { TokenRuns } from '../../../api/tokenRuns';
import { noRefresh } from '../../helpers/tokenRuns';
import { createLogger } from '../../../lib/logger';
import { serve } from '../../../lib/http/serve';

/** An issuer that answers once released, so a request can be held in flight while the server closes. */
function heldIssuer() {
  let release!: () => void;
  let arrived!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const inFlight = new Promise<void>((r) => (arrived = r));
  const issuer: TokenRuns = {
    ...noRefresh,
    runCreate: async () => {
      arrived();
      await released;
      return {
        outcome: 'issued',
        accountSid: 'AC' + '0'.repeat(32),
        token: 'tok',
        identity: 'id',
        expiration: '2030-01-01T00:00:00.000Z',
        cors: { allowOrigin: '*', vary: false },
      };
    },
    ready: () => Promise.resolve(true),
  };
  return { issuer, release, inFlight };
}

function post(url: string, agent: http.Agent): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/v2/Webchat/Token`,
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ deploymentKey: 'dk_demo_open' }));
  });
}

describe('graceful shutdown of a served app (lib/http/serve.ts)', () => {
  test('close() lets the in-flight request finish, tells its keep-alive client to go, and stops accepting', async () => {
    const { issuer, release, inFlight } = heldIssuer();
    const served = await serve(
      createApp({ runs: issuer, logger: createLogger('t', 'silent'), deadlineMs: 5000 }),
      0,
    );
    const agent = new http.Agent({ keepAlive: true });
    try {
      // A first exchange leaves a keep-alive connection in the agent's pool.
      const warm = post(served.url, agent);
      await inFlight;
      release();
      assert.equal((await warm).status, 200);

      const { issuer: slow, release: releaseSlow, inFlight: slowInFlight } = heldIssuer();
      issuer.runCreate = (input, deadlineMs) => slow.runCreate(input, deadlineMs);
      const held = post(served.url, agent);
      await slowInFlight;
      const closed = served.close();
      assert.equal(served.server.listening, false);
      releaseSlow();
      const answer = await held;
      assert.deepEqual(answer, { status: 200, connection: 'close' });
      // Resolves once the last connection is gone: without `Connection: close` it would wait for keep-alive.
      await closed;
      await assert.rejects(post(served.url, new http.Agent()), { code: 'ECONNREFUSED' });
    } finally {
      agent.destroy();
    }
  });
});
