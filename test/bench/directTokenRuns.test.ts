import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { createActivities } from '../../activities';
import { directTokenRuns } from '../../bench/directTokenRuns';
import type { TokenRuns } from '../../api/tokenRuns';
import type { CreateWebchatTokenInput } from '../../domain/contracts';
import { AppError } from '../../domain/errors';
import { collectSignals } from '../../lib/fingerprint';
import type { AccountStore } from '../../store/accountStore';
import { openStore } from '../../store/openStore';
import { seedDemoAccounts } from '../../store/seed';
import { FakeFas } from '../helpers/fakeFas';
import { testFingerprintSecret } from '../helpers/runIssuance';
import { widgetHeaders } from '../helpers/widget';

/**
 * The benchmark's baseline must answer as the workflow does, or the comparison means nothing: the same
 * outcomes, denials and CORS decisions over the real activities and store (FAS faked, as in the workflow tests).
 */
describe('directTokenRuns', () => {
  let store: AccountStore;
  let fas: FakeFas;
  let issuer: TokenRuns;
  const input = (over: Partial<CreateWebchatTokenInput>): CreateWebchatTokenInput => ({
    requestId: 'req-12345678',
    deploymentKey: 'dk_demo_open',
    origin: null,
    signals: {},
    ...over,
  });

  before(async () => {
    store = await openStore({ dataDir: null });
    await seedDemoAccounts(store);
  });
  after(() => store.close());

  const fresh = () => {
    fas = new FakeFas();
    const activities = createActivities({ store, fas, fingerprintSecret: testFingerprintSecret });
    issuer = directTokenRuns({ activities, logger: pino({ level: 'silent' }) });
  };

  test('dk_demo_open: issued, FAS asked without a fingerprint, ACAO *', async () => {
    fresh();
    const result = await issuer.runCreate(input({ origin: 'https://any.site.test' }), 5000);
    assert.deepEqual(result, {
      outcome: 'issued',
      accountSid: 'AC00000000000000000000000000000001',
      token: 'token-1',
      identity: 'identity-1',
      expiration: '2030-01-01T00:00:00.000Z',
      cors: { allowOrigin: '*', vary: false },
    });
    assert.deepEqual(fas.calls, [
      {
        accountSid: 'AC00000000000000000000000000000001',
        body: { grants: { webchat: { addressSid: 'AD00000000000000000000000000000001' } }, ttl: 3600 },
        requestId: 'req-12345678',
      },
    ]);
  });

  test('dk_demo_secure with the widget headers: the token is bound to a medium fingerprint, origin echoed', async () => {
    fresh();
    const result = await issuer.runCreate(
      input({
        deploymentKey: 'dk_demo_secure',
        origin: 'http://localhost:8081',
        signals: collectSignals(widgetHeaders(), '127.0.0.1'),
      }),
      5000,
    );
    assert.equal(result.outcome, 'issued');
    assert.deepEqual(result.cors, { allowOrigin: 'http://localhost:8081', vary: true });
    const body = fas.calls[0]?.body;
    assert.equal(body?.fingerprintLevel, 'medium');
    assert.match(body?.fingerprint ?? '', /^[A-Za-z0-9_-]+/);
  });

  test('dk_demo_secure without the widget headers: denied fingerprint_generation_failed, FAS not called', async () => {
    fresh();
    // No Origin (a server's request): a disallowed one is refused before fingerprinting (next test).
    const result = await issuer.runCreate(input({ deploymentKey: 'dk_demo_secure', origin: null }), 5000);
    assert.deepEqual(result, {
      outcome: 'denied',
      reason: 'fingerprint_generation_failed',
      message: 'The browser fingerprint could not be generated from this request.',
      accountSid: 'AC00000000000000000000000000000002',
      cors: { allowOrigin: 'http://localhost:8081,https://*.example.com', vary: true },
    });
    assert.equal(fas.calls.length, 0);
  });

  test('dk_demo_secure from an origin it does not allow: denied origin_not_allowed, FAS not called', async () => {
    fresh();
    const result = await issuer.runCreate(
      input({ deploymentKey: 'dk_demo_secure', origin: 'https://evil.test' }),
      5000,
    );
    assert.deepEqual(result, {
      outcome: 'denied',
      reason: 'origin_not_allowed',
      message: "This page's origin is not one the account allows.",
      accountSid: 'AC00000000000000000000000000000002',
      cors: { allowOrigin: 'http://localhost:8081,https://*.example.com', vary: true },
    });
    assert.equal(fas.calls.length, 0);
  });

  test('an unknown key: denied invalid_deployment_key with ACAO *', async () => {
    fresh();
    const result = await issuer.runCreate(input({ deploymentKey: 'dk_not_a_key' }), 5000);
    assert.deepEqual(result, {
      outcome: 'denied',
      reason: 'invalid_deployment_key',
      message: 'The deployment key is unknown or revoked.',
      accountSid: null,
      cors: { allowOrigin: '*', vary: false },
    });
  });

  test('FAS down: 503 unavailable with Retry-After, at once (the baseline does not retry)', async () => {
    fresh();
    fas.failNext = 1;
    await assert.rejects(issuer.runCreate(input({}), 5000), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'unavailable');
      assert.equal(err.headers['Retry-After'], '2');
      return true;
    });
    assert.equal(fas.calls.length, 1);
  });

  test('past the deadline: 503 unavailable', async () => {
    fresh();
    fas.postToken = () => new Promise(() => {});
    await assert.rejects(issuer.runCreate(input({}), 100), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'unavailable');
      return true;
    });
  });
});
