import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WEBCHAT_SECURITY_FLAG } from '../../domain/contracts';
import { isOriginPattern } from '../../domain/cors';
import { accountSidOf, configOf, flagOf } from '../helpers/storeReads';
import { forEachBackend, suiteStore } from './backends';

// The token path's read (store/accountReader.ts) and the operator's (`getAccount`), on accounts made through the
// admin half.
forEachBackend('account reads', (db) => {
  // One database per backend; every test makes its own accounts.
  const suite = suiteStore(db);

  const sid = (prefix: 'AC' | 'AD', n: number) => prefix + n.toString(16).padStart(32, '0');

  void describe('deployment keys', () => {
    void test('a live key resolves to its account', async () => {
      const { account } = await suite.store.createAccount({ deploymentKeys: ['resolve-live-key-1'] });
      assert.equal(await accountSidOf(suite.store, 'resolve-live-key-1'), account.accountSid);
    });

    void test('an unknown key, an empty key and a near miss resolve to null', async () => {
      await suite.store.createAccount({ deploymentKeys: ['resolve-near-miss'] });
      assert.equal(await accountSidOf(suite.store, 'never-issued-key'), null);
      assert.equal(await accountSidOf(suite.store, ''), null);
      assert.equal(await accountSidOf(suite.store, 'resolve-near-mis'), null);
      assert.equal(await accountSidOf(suite.store, 'RESOLVE-NEAR-MISS'), null);
    });

    void test('a revoked key resolves to null while the account’s other keys keep working', async () => {
      const { account } = await suite.store.createAccount();
      const revoked = await suite.store.addDeploymentKey(account.accountSid);
      const kept = await suite.store.addDeploymentKey(account.accountSid);

      const info = await suite.store.revokeDeploymentKey(revoked.keyId);
      assert.equal(info.keyId, revoked.keyId);
      assert.ok(info.revokedAt instanceof Date);

      assert.equal(await accountSidOf(suite.store, revoked.key), null);
      assert.equal(await accountSidOf(suite.store, kept.key), account.accountSid);
      assert.deepEqual((await configOf(suite.store, account.accountSid))?.deploymentKeys, [kept.keyId]);
    });

    void test('revoking twice keeps the first revocation time', async () => {
      const { account } = await suite.store.createAccount();
      const { keyId } = await suite.store.addDeploymentKey(account.accountSid);
      const first = await suite.store.revokeDeploymentKey(keyId);
      const second = await suite.store.revokeDeploymentKey(keyId);
      assert.deepEqual(second.revokedAt, first.revokedAt);
    });
  });

  void describe('readByDeploymentKey (what an issuance reads, in one query)', () => {
    void test('the configuration and one flag of a live key only, as the account holds them', async () => {
      const store = suite.store;
      const { account } = await store.createAccount();
      const live = await store.addDeploymentKey(account.accountSid);
      const revoked = await store.addDeploymentKey(account.accountSid);
      await store.revokeDeploymentKey(revoked.keyId);
      await store.setFeatureFlag(account.accountSid, WEBCHAT_SECURITY_FLAG, true);
      await store.setFeatureFlag(account.accountSid, 'another-flag', false);

      assert.deepEqual(await store.readByDeploymentKey(live.key, WEBCHAT_SECURITY_FLAG), {
        config: await configOf(store, account.accountSid),
        flagEnabled: true,
      });
      assert.equal((await store.readByDeploymentKey(live.key, 'another-flag'))?.flagEnabled, false);
      assert.equal((await store.readByDeploymentKey(live.key, 'never-set'))?.flagEnabled, false);
      for (const key of [revoked.key, 'never-issued-key', '']) {
        assert.equal(await store.readByDeploymentKey(key, WEBCHAT_SECURITY_FLAG), null, `"${key}"`);
      }
    });
  });

  void describe('the configuration an issuance holds', () => {
    void test('returns exactly the contract fields, with the ids of live keys only', async () => {
      const { account, keys } = await suite.store.createAccount({
        accountSid: sid('AC', 0xc0f1),
        addressSid: sid('AD', 0xc0f1),
        friendlyName: 'Config test',
        allowedOrigins: ['https://shop.example.com', 'https://*.example.org'],
        fingerprintSensitivity: 'high',
        tokenTtlSeconds: 900,
        deploymentKeys: ['config-key-one', 'config-key-two'],
      });
      assert.equal(keys.length, 2);
      const [one, two] = keys;
      assert.ok(one && two);
      await suite.store.revokeDeploymentKey(one.keyId);

      assert.deepEqual(await configOf(suite.store, account.accountSid), {
        accountSid: sid('AC', 0xc0f1),
        allowedOrigins: ['https://shop.example.com', 'https://*.example.org'],
        addressSid: sid('AD', 0xc0f1),
        deploymentKeys: [two.keyId],
        fingerprintSensitivity: 'high',
        tokenTtlSeconds: 900,
        keyBinding: 'off',
      });
    });

    void test('defaults: generated SIDs, no origins, medium sensitivity, one hour TTL, no keys', async () => {
      const { account, keys } = await suite.store.createAccount();
      assert.deepEqual(keys, []);
      assert.match(account.accountSid, /^AC[0-9a-f]{32}$/);
      assert.match(account.addressSid, /^AD[0-9a-f]{32}$/);
      assert.deepEqual(await configOf(suite.store, account.accountSid), {
        accountSid: account.accountSid,
        allowedOrigins: [],
        addressSid: account.addressSid,
        deploymentKeys: [],
        fingerprintSensitivity: 'medium',
        tokenTtlSeconds: 3600,
        keyBinding: 'off',
      });
    });

    void test('an unknown or malformed account SID gives null', async () => {
      assert.equal(await suite.store.getAccount(sid('AC', 0xdead)), null);
      assert.equal(await suite.store.getAccount('not-a-sid'), null);
    });

    void test('allowed origins are stored the way browsers send them, without duplicates', async () => {
      const { account } = await suite.store.createAccount({
        allowedOrigins: [
          'https://Shop.Example.com:443/',
          'http://localhost:8081',
          'https://shop.example.com',
        ],
      });
      assert.deepEqual(account.allowedOrigins, ['https://shop.example.com', 'http://localhost:8081']);
    });

    void test('every stored origin is one the CORS matcher accepts (one rule for both)', async () => {
      const { account } = await suite.store.createAccount({
        allowedOrigins: ['https://*.Example.COM:443', 'https://bücher.example', 'http://[::1]:3000/'],
      });
      assert.deepEqual(account.allowedOrigins, [
        'https://*.example.com',
        'https://xn--bcher-kva.example',
        'http://[::1]:3000',
      ]);
      assert.ok(account.allowedOrigins.every(isOriginPattern));
    });
  });

  void describe('feature flags', () => {
    void test('a flag never set reads as off', async () => {
      const { account } = await suite.store.createAccount();
      assert.equal(await flagOf(suite.store, account.accountSid, WEBCHAT_SECURITY_FLAG), false);
      assert.equal(await flagOf(suite.store, sid('AC', 0xf1a9), WEBCHAT_SECURITY_FLAG), false);
    });

    void test('set on, then off, per account', async () => {
      const { account: a } = await suite.store.createAccount();
      const { account: b } = await suite.store.createAccount();
      await suite.store.setFeatureFlag(a.accountSid, WEBCHAT_SECURITY_FLAG, true);
      assert.equal(await flagOf(suite.store, a.accountSid, WEBCHAT_SECURITY_FLAG), true);
      assert.equal(await flagOf(suite.store, b.accountSid, WEBCHAT_SECURITY_FLAG), false);
      assert.equal(await flagOf(suite.store, a.accountSid, 'some-other-flag'), false);

      await suite.store.setFeatureFlag(a.accountSid, WEBCHAT_SECURITY_FLAG, false);
      assert.equal(await flagOf(suite.store, a.accountSid, WEBCHAT_SECURITY_FLAG), false);
      assert.deepEqual((await suite.store.getAccount(a.accountSid))?.featureFlags, {
        [WEBCHAT_SECURITY_FLAG]: false,
      });
    });

    void test('flags given at creation are set with the account', async () => {
      const { account } = await suite.store.createAccount({
        featureFlags: { [WEBCHAT_SECURITY_FLAG]: true },
      });
      assert.equal(await flagOf(suite.store, account.accountSid, WEBCHAT_SECURITY_FLAG), true);
      assert.deepEqual(account.featureFlags, { [WEBCHAT_SECURITY_FLAG]: true });
    });
  });
});
