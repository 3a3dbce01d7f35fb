import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, createFasClient, type Activities, type FasClient } from '../../activities';
import { FAS_REJECTED_FAILURE, FINGERPRINT_FAILURE } from '../../domain/failureTypes';
import { collectSignals } from '../../lib/fingerprint';
import type { Served } from '../../lib/http/serve';
import { loadServiceCredentials } from '../../lib/serviceAuth';
import { loadFederatedAuthConfig } from '../../services/federated-auth/config';
import { startFederatedAuth } from '../../services/federated-auth/start';
import { loadScopedAuthConfig } from '../../services/scoped-auth/config';
import { startScopedAuth, type ScopedAuthService } from '../../services/scoped-auth/start';
import type { AccountStore } from '../../store/accountStore';
import { openStore } from '../../store/openStore';
import { demoAccounts, seedDemoAccounts } from '../../store/seed';
import { postAsService, stackCredentials } from '../../scripts/stack/serviceAuthorization';
import { widgetHeaders } from '../helpers/widget';

/** The activities in a mock activity context, with a real store and real FAS and SAS over HTTP. */
describe('activities', () => {
  let dir: string;
  let store: AccountStore;
  let sas: ScopedAuthService;
  let fasServer: Served;
  let fas: FasClient;
  let acts: Activities;
  const env = new MockActivityEnvironment();
  const run = <R>(fn: () => Promise<R>): Promise<R> => env.run(fn);
  const [open, secure] = demoAccounts;
  /** The worker's credential, from the secret FAS generated in the same data folder. */
  const orchestrator = () =>
    loadServiceCredentials('orchestrator', 'federated-auth', { file: join(dir, 'secrets', 'fas-auth.key') });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'activities-'));
    store = await openStore({ dataDir: null });
    await seedDemoAccounts(store);
    sas = await startScopedAuth(loadScopedAuthConfig({ SAS_PORT: '0', DATA_DIR: dir, LOG_LEVEL: 'silent' }));
    fasServer = await startFederatedAuth(
      loadFederatedAuthConfig({ FAS_PORT: '0', SAS_URL: sas.url, DATA_DIR: dir, LOG_LEVEL: 'silent' }),
    );
    fas = createFasClient({ baseUrl: fasServer.url, timeoutMs: 3000, credentials: await orchestrator() });
    acts = createActivities({ store, fas, fingerprintSecret: new Uint8Array(32).fill(1) });
  });
  after(async () => {
    await fas?.close();
    await fasServer?.close();
    await sas?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('loadAccount: the configuration and the flag behind a live key, null for an unknown one', async () => {
    const loaded = await run(() => acts.loadAccount('dk_demo_secure'));
    assert.ok(loaded);
    assert.deepEqual(
      { ...loaded, config: { ...loaded.config, deploymentKeys: loaded.config.deploymentKeys.length } },
      {
        config: {
          accountSid: secure!.accountSid,
          addressSid: secure!.addressSid,
          allowedOrigins: ['http://localhost:8081', 'https://*.example.com'],
          deploymentKeys: 1,
          fingerprintSensitivity: 'medium',
          tokenTtlSeconds: 3600,
          keyBinding: 'off',
        },
        security: true,
      },
    );
    assert.deepEqual(
      { sid: (await run(() => acts.loadAccount('dk_demo_open')))?.config.accountSid, security: false },
      { sid: open!.accountSid, security: false },
    );
    assert.equal((await run(() => acts.loadAccount('dk_demo_open')))?.security, false);
    for (const key of ['dk_unknown', 'not a key at all']) {
      assert.equal(await run(() => acts.loadAccount(key)), null, key);
    }
  });

  test('generateFingerprint: a versioned fingerprint; missing signals are a non-retryable denial', async () => {
    const signals = collectSignals(widgetHeaders(), '203.0.113.9');
    const result = await run(() => acts.generateFingerprint(signals, 'medium'));
    assert.equal(result.level, 'medium');
    assert.match(result.fingerprint, /^v1\.[A-Za-z0-9_-]{43}$/);
    await assert.rejects(
      run(() => acts.generateFingerprint({}, 'low')),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, FINGERPRINT_FAILURE);
        assert.equal(err.nonRetryable, true);
        return true;
      },
    );
  });

  test('requestToken: FAS and SAS mint a token that SAS validates for the same account', async () => {
    const issued = await run(() =>
      acts.requestToken(
        secure!.accountSid,
        { grants: { webchat: { addressSid: secure!.addressSid } }, ttl: 600 },
        'activity-test-0001',
      ),
    );
    const url = `${sas.url}/v1/ScopedAuthTokens/validate`;
    const res = await postAsService(stackCredentials(dir, 'federated-auth', 'scoped-auth'), url, {
      token: issued.token,
    });
    assert.deepEqual(await res.json(), {
      authorized: true,
      auth_account: { account_sid: secure!.accountSid },
      identity: issued.identity,
      grants: { webchat: { addressSid: secure!.addressSid } },
      expiration: issued.expiration,
    });
  });

  test('requestToken: a request FAS refuses is non-retryable', async () => {
    await assert.rejects(
      run(() =>
        acts.requestToken('not-a-sid', { grants: { webchat: { addressSid: 'x' } }, ttl: 1 }, 'req-00000001'),
      ),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, FAS_REJECTED_FAILURE);
        assert.equal(err.nonRetryable, true);
        return true;
      },
    );
  });

  test('requestToken: FAS unreachable is a plain (retryable) error', async () => {
    const down = createFasClient({
      baseUrl: 'http://127.0.0.1:9',
      timeoutMs: 500,
      credentials: await orchestrator(),
    });
    const acts2 = createActivities({ store, fas: down, fingerprintSecret: new Uint8Array(32) });
    await assert.rejects(
      run(() =>
        acts2.requestToken(
          open!.accountSid,
          { grants: { webchat: { addressSid: 'AD' } }, ttl: 600 },
          'req-1',
        ),
      ),
      (err: unknown) => !(err instanceof ApplicationFailure),
    );
    await down.close();
  });
});
