import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createFasClient, FasRejectedError, type FasClient } from '../../activities';
import type { Served } from '../../lib/http/serve';
import { loadServiceCredentials } from '../../lib/serviceAuth';
import { loadFederatedAuthConfig } from '../../services/federated-auth/config';
import { startFederatedAuth } from '../../services/federated-auth/start';
import { loadScopedAuthConfig } from '../../services/scoped-auth/config';
import { startScopedAuth, type ScopedAuthService } from '../../services/scoped-auth/start';

/** `FasClient.postRefresh` against a real FAS and SAS sharing one data folder, as `make start` runs them. */
const accountSid = 'AC0123456789abcdef0123456789abcdef';
const grants = { webchat: { addressSid: 'IS0123456789abcdef0123456789abcdef' } };

describe('FAS client: postRefresh', () => {
  let dir: string;
  let sas: ScopedAuthService;
  let fasServer: Served;
  let fas: FasClient;
  const credentials = () =>
    loadServiceCredentials('orchestrator', 'federated-auth', { file: join(dir, 'secrets', 'fas-auth.key') });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fas-client-'));
    sas = await startScopedAuth(loadScopedAuthConfig({ SAS_PORT: '0', DATA_DIR: dir, LOG_LEVEL: 'silent' }));
    fasServer = await startFederatedAuth(
      loadFederatedAuthConfig({ FAS_PORT: '0', SAS_URL: sas.url, DATA_DIR: dir, LOG_LEVEL: 'silent' }),
    );
    fas = createFasClient({ baseUrl: fasServer.url, timeoutMs: 3000, credentials: await credentials() });
  });
  after(async () => {
    await fas?.close();
    await fasServer?.close();
    await sas?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('refreshed: a new token for the same identity', async () => {
    const issued = await fas.postToken(
      accountSid,
      { grants, ttl: 600, fingerprint: 'v1.fp-A', fingerprintLevel: 'low' },
      'fas-client-0001',
    );
    const result = await fas.postRefresh(
      accountSid,
      { token: issued.token, grants, ttl: 900, fingerprint: 'v1.fp-A', fingerprintLevel: 'low' },
      'fas-client-0002',
    );
    assert.equal(result.outcome, 'refreshed');
    assert.ok(result.outcome === 'refreshed');
    assert.deepEqual(Object.keys(result).sort(), ['expiration', 'identity', 'outcome', 'token']);
    assert.equal(result.identity, issued.identity);
    assert.notEqual(result.token, issued.token);
  });

  test('refused: the typed 403 of another browser, and of a bad token', async () => {
    const issued = await fas.postToken(
      accountSid,
      { grants, ttl: 600, fingerprint: 'v1.fp-A', fingerprintLevel: 'low' },
      'fas-client-0003',
    );
    assert.deepEqual(
      await fas.postRefresh(
        accountSid,
        { token: issued.token, grants, ttl: 600, fingerprint: 'v1.fp-B', fingerprintLevel: 'low' },
        'fas-client-0004',
      ),
      {
        outcome: 'refused',
        code: 'fingerprint_validation_failed',
        message: 'The token belongs to another browser.',
      },
    );
    assert.deepEqual(
      await fas.postRefresh(accountSid, { token: 'not-a-token', grants, ttl: 600 }, 'fas-client-0005'),
      {
        outcome: 'refused',
        code: 'invalid_token',
        message: 'The token is invalid, expired or not for this deployment key.',
      },
    );
  });

  test('a bad request (400) and a missing credential (401) are FasRejectedError, not retried', async () => {
    await assert.rejects(
      fas.postRefresh(accountSid, { token: 'x', grants, ttl: 1 }, 'fas-client-0006'),
      (err: unknown) => err instanceof FasRejectedError && err.status === 400,
    );
    const stranger = createFasClient({
      baseUrl: fasServer.url,
      timeoutMs: 3000,
      credentials: { authorization: () => Promise.resolve('Bearer x') },
    });
    try {
      await assert.rejects(
        stranger.postRefresh(accountSid, { token: 'x', grants, ttl: 600 }, 'fas-client-0007'),
        (err: unknown) => err instanceof FasRejectedError && err.status === 401,
      );
      await assert.rejects(
        stranger.postToken(accountSid, { grants, ttl: 600 }, 'fas-client-0008'),
        (err: unknown) => err instanceof FasRejectedError && err.status === 401,
      );
    } finally {
      await stranger.close();
    }
  });

  test('FAS 503, an unreadable 403, or FAS unreachable: plain errors (503 retried), 403 rejected', async () => {
    let status = 503;
    const server = createServer((_req, res) => {
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end('{"code":"unavailable","message":"x"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const client = createFasClient({ baseUrl: url, timeoutMs: 1000, credentials: await credentials() });
    try {
      await assert.rejects(
        client.postRefresh(accountSid, { token: 'x', grants, ttl: 600 }, 'fas-client-0009'),
        (err: unknown) => err instanceof Error && !(err instanceof FasRejectedError),
      );
      status = 403;
      await assert.rejects(
        client.postRefresh(accountSid, { token: 'x', grants, ttl: 600 }, 'fas-client-0010'),
        (err: unknown) => err instanceof FasRejectedError && err.status === 403,
      );
    } finally {
      await client.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    const down = createFasClient({ baseUrl: url, timeoutMs: 500, credentials: await credentials() });
    try {
      await assert.rejects(
        down.postRefresh(accountSid, { token: 'x', grants, ttl: 600 }, 'fas-client-0011'),
        (err: unknown) => err instanceof Error && !(err instanceof FasRejectedError),
      );
    } finally {
      await down.close();
    }
  });
});
