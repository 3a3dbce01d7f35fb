import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { WEBCHAT_SECURITY_FLAG } from '../../domain/contracts';
import { isOriginPattern } from '../../domain/cors';
import { AccountStore } from '../../store/accountStore';
import { migrate } from '../../store/migrate';
import { type SqlClient } from '../../store/sqlClient';
import { forEachBackend } from './backends';

forEachBackend('account store', (db) => {
  // One database per backend (PGlite takes about a second to start); every test makes its own accounts.
  let sql: SqlClient;
  let store: AccountStore;

  before(async () => {
    sql = await db.connect();
    await migrate(sql);
    store = new AccountStore(sql);
  });

  after(async () => {
    await store.close();
  });

  const sid = (prefix: 'AC' | 'AD', n: number) => prefix + n.toString(16).padStart(32, '0');

  async function count(table: string): Promise<number> {
    const { rows } = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    return rows[0]?.n ?? -1;
  }

  /** Every row of every table in the store's schema, as text (bytea shows as hex). */
  async function dumpDatabase(): Promise<string> {
    const { rows: tables } = await sql.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`,
    );
    const parts: string[] = [];
    for (const { table_name } of tables) {
      const { rows } = await sql.query<{ row: string }>(
        `SELECT row_to_json(t)::text AS row FROM ${table_name} t`,
      );
      parts.push(...rows.map((r) => r.row));
    }
    return parts.join('\n');
  }

  void describe('resolveDeploymentKey', () => {
    void test('a live key resolves to its account', async () => {
      const { account } = await store.createAccount({ deploymentKeys: ['resolve-live-key-1'] });
      assert.equal(await store.resolveDeploymentKey('resolve-live-key-1'), account.accountSid);
    });

    void test('an unknown key, an empty key and a near miss resolve to null', async () => {
      await store.createAccount({ deploymentKeys: ['resolve-near-miss'] });
      assert.equal(await store.resolveDeploymentKey('never-issued-key'), null);
      assert.equal(await store.resolveDeploymentKey(''), null);
      assert.equal(await store.resolveDeploymentKey('resolve-near-mis'), null);
      assert.equal(await store.resolveDeploymentKey('RESOLVE-NEAR-MISS'), null);
    });

    void test('a revoked key resolves to null while the account’s other keys keep working', async () => {
      const { account } = await store.createAccount();
      const revoked = await store.addDeploymentKey(account.accountSid);
      const kept = await store.addDeploymentKey(account.accountSid);

      const info = await store.revokeDeploymentKey(revoked.keyId);
      assert.equal(info.keyId, revoked.keyId);
      assert.ok(info.revokedAt instanceof Date);

      assert.equal(await store.resolveDeploymentKey(revoked.key), null);
      assert.equal(await store.resolveDeploymentKey(kept.key), account.accountSid);
      assert.deepEqual((await store.getAccountConfig(account.accountSid))?.deploymentKeys, [kept.keyId]);
    });

    void test('configuration and flag by deployment key: a live key only, as getAccountConfig and getFeatureFlag', async () => {
      const { account } = await store.createAccount();
      const live = await store.addDeploymentKey(account.accountSid);
      const revoked = await store.addDeploymentKey(account.accountSid);
      await store.revokeDeploymentKey(revoked.keyId);
      await store.setFeatureFlag(account.accountSid, WEBCHAT_SECURITY_FLAG, true);

      assert.deepEqual(
        await store.getAccountConfigByDeploymentKey(live.key),
        await store.getAccountConfig(account.accountSid),
      );
      assert.equal(await store.getFeatureFlagByDeploymentKey(live.key, WEBCHAT_SECURITY_FLAG), true);
      assert.equal(await store.getFeatureFlagByDeploymentKey(live.key, 'never-set'), false);
      for (const key of [revoked.key, 'never-issued-key', '']) {
        assert.equal(await store.getAccountConfigByDeploymentKey(key), null, `config of "${key}"`);
        assert.equal(
          await store.getFeatureFlagByDeploymentKey(key, WEBCHAT_SECURITY_FLAG),
          false,
          `flag of "${key}"`,
        );
      }
    });

    void test('revoking twice keeps the first revocation time', async () => {
      const { account } = await store.createAccount();
      const { keyId } = await store.addDeploymentKey(account.accountSid);
      const first = await store.revokeDeploymentKey(keyId);
      const second = await store.revokeDeploymentKey(keyId);
      assert.deepEqual(second.revokedAt, first.revokedAt);
    });
  });

  void describe('getAccountConfig', () => {
    void test('returns exactly the contract fields, with the ids of live keys only', async () => {
      const { account, keys } = await store.createAccount({
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
      await store.revokeDeploymentKey(one.keyId);

      assert.deepEqual(await store.getAccountConfig(account.accountSid), {
        accountSid: sid('AC', 0xc0f1),
        allowedOrigins: ['https://shop.example.com', 'https://*.example.org'],
        addressSid: sid('AD', 0xc0f1),
        deploymentKeys: [two.keyId],
        fingerprintSensitivity: 'high',
        tokenTtlSeconds: 900,
      });
    });

    void test('defaults: generated SIDs, no origins, medium sensitivity, one hour TTL, no keys', async () => {
      const { account, keys } = await store.createAccount();
      assert.deepEqual(keys, []);
      assert.match(account.accountSid, /^AC[0-9a-f]{32}$/);
      assert.match(account.addressSid, /^AD[0-9a-f]{32}$/);
      assert.deepEqual(await store.getAccountConfig(account.accountSid), {
        accountSid: account.accountSid,
        allowedOrigins: [],
        addressSid: account.addressSid,
        deploymentKeys: [],
        fingerprintSensitivity: 'medium',
        tokenTtlSeconds: 3600,
      });
    });

    void test('an unknown or malformed account SID gives null', async () => {
      assert.equal(await store.getAccountConfig(sid('AC', 0xdead)), null);
      assert.equal(await store.getAccountConfig('not-a-sid'), null);
    });

    void test('allowed origins are stored the way browsers send them, without duplicates', async () => {
      const { account } = await store.createAccount({
        allowedOrigins: [
          'https://Shop.Example.com:443/',
          'http://localhost:8081',
          'https://shop.example.com',
        ],
      });
      assert.deepEqual(account.allowedOrigins, ['https://shop.example.com', 'http://localhost:8081']);
    });

    void test('every stored origin is one the CORS matcher accepts (one rule for both)', async () => {
      const { account } = await store.createAccount({
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
      const { account } = await store.createAccount();
      assert.equal(await store.getFeatureFlag(account.accountSid, WEBCHAT_SECURITY_FLAG), false);
      assert.equal(await store.getFeatureFlag(sid('AC', 0xf1a9), WEBCHAT_SECURITY_FLAG), false);
    });

    void test('set on, then off, per account', async () => {
      const { account: a } = await store.createAccount();
      const { account: b } = await store.createAccount();
      await store.setFeatureFlag(a.accountSid, WEBCHAT_SECURITY_FLAG, true);
      assert.equal(await store.getFeatureFlag(a.accountSid, WEBCHAT_SECURITY_FLAG), true);
      assert.equal(await store.getFeatureFlag(b.accountSid, WEBCHAT_SECURITY_FLAG), false);
      assert.equal(await store.getFeatureFlag(a.accountSid, 'some-other-flag'), false);

      await store.setFeatureFlag(a.accountSid, WEBCHAT_SECURITY_FLAG, false);
      assert.equal(await store.getFeatureFlag(a.accountSid, WEBCHAT_SECURITY_FLAG), false);
      assert.deepEqual((await store.getAccount(a.accountSid))?.featureFlags, {
        [WEBCHAT_SECURITY_FLAG]: false,
      });
    });

    void test('flags given at creation are set with the account', async () => {
      const { account } = await store.createAccount({ featureFlags: { [WEBCHAT_SECURITY_FLAG]: true } });
      assert.equal(await store.getFeatureFlag(account.accountSid, WEBCHAT_SECURITY_FLAG), true);
      assert.deepEqual(account.featureFlags, { [WEBCHAT_SECURITY_FLAG]: true });
    });
  });

  void describe('deployment keys are secret', () => {
    void test('a generated key carries at least 128 random bits and differs every time', async () => {
      const { account } = await store.createAccount();
      const keys = await Promise.all(
        Array.from({ length: 16 }, () => store.addDeploymentKey(account.accountSid)),
      );
      for (const { key, keyId } of keys) {
        assert.match(key, /^dk_[A-Za-z0-9_-]{32}$/);
        assert.equal(Buffer.from(key.slice(3), 'base64url').length * 8, 192);
        assert.match(keyId, /^DK[0-9a-f]{32}$/);
        assert.equal(await store.resolveDeploymentKey(key), account.accountSid);
      }
      assert.equal(new Set(keys.map((k) => k.key)).size, keys.length);
      assert.equal(new Set(keys.map((k) => k.keyId)).size, keys.length);
    });

    void test('no table holds a key in clear text: only its SHA-256 and an 8-character prefix', async () => {
      const { account } = await store.createAccount({ deploymentKeys: ['chosen-key-in-clear-0123456789'] });
      const generated = await store.addDeploymentKey(account.accountSid);

      const dump = await dumpDatabase();
      for (const key of ['chosen-key-in-clear-0123456789', generated.key]) {
        assert.ok(!dump.includes(key), 'the plaintext key is stored');
        assert.ok(!dump.includes(Buffer.from(key).toString('hex')), 'the key is stored hex-encoded');
        assert.ok(!dump.includes(key.slice(8)), 'the key beyond its prefix is stored');
      }

      const { rows } = await sql.query<{ key_hash: Uint8Array; key_prefix: string }>(
        'SELECT key_hash, key_prefix FROM deployment_keys WHERE key_id = $1',
        [generated.keyId],
      );
      const expected = createHash('sha256').update(generated.key).digest();
      assert.deepEqual(Buffer.from(rows[0]?.key_hash ?? []), expected);
      assert.equal(rows[0]?.key_prefix, generated.key.slice(0, 8));

      const listed = await store.listDeploymentKeys(account.accountSid);
      assert.deepEqual(listed.map((k) => k.keyPrefix).sort(), ['chosen-k', generated.key.slice(0, 8)].sort());
      assert.ok(listed.every((k) => !Object.values(k).includes(generated.key)));
    });
  });

  void describe('invalid input is rejected with a typed error and nothing is written', () => {
    void test('bad sensitivity', async () => {
      const before = await count('accounts');
      await assert.rejects(store.createAccount({ fingerprintSensitivity: 'paranoid' as 'high' }), {
        name: 'StoreError',
        code: 'invalid_input',
        message: /fingerprintSensitivity/,
      });
      assert.equal(await count('accounts'), before);
    });

    void test('TTL outside 60..86400 seconds, or not an integer', async () => {
      const before = await count('accounts');
      for (const tokenTtlSeconds of [59, 86401, 0, -1, 600.5]) {
        await assert.rejects(store.createAccount({ tokenTtlSeconds }), {
          name: 'StoreError',
          code: 'invalid_input',
          message: /tokenTtlSeconds/,
        });
      }
      assert.equal(await count('accounts'), before);
      assert.equal((await store.createAccount({ tokenTtlSeconds: 60 })).account.tokenTtlSeconds, 60);
      assert.equal((await store.createAccount({ tokenTtlSeconds: 86400 })).account.tokenTtlSeconds, 86400);
    });

    void test('origins that are not http(s) origins, or too broad a wildcard', async () => {
      for (const origin of [
        'https://shop.example.com/path',
        'shop.example.com',
        'ftp://shop.example.com',
        'https://*.com',
        // The CORS matcher never honours an http wildcard, so the store does not keep one.
        'http://*.example.com',
        'https://*',
        'https://a.*.example.com',
        '*',
        'https://user@shop.example.com',
      ]) {
        await assert.rejects(
          store.createAccount({ allowedOrigins: [origin] }),
          { code: 'invalid_input', message: /allowedOrigins\.0/ },
          origin,
        );
      }
    });

    void test('malformed SIDs, unknown fields, bad keys and flag names', async () => {
      await assert.rejects(store.createAccount({ accountSid: 'AC123' }), { code: 'invalid_input' });
      await assert.rejects(store.createAccount({ addressSid: sid('AC', 1) }), { code: 'invalid_input' });
      await assert.rejects(store.createAccount({ tokenTTL: 60 } as never), {
        code: 'invalid_input',
        message: /tokenTTL/,
      });
      const { account } = await store.createAccount();
      await assert.rejects(store.addDeploymentKey(account.accountSid, 'short'), { code: 'invalid_input' });
      await assert.rejects(store.addDeploymentKey(account.accountSid, 'has spaces in it'), {
        code: 'invalid_input',
      });
      await assert.rejects(store.setFeatureFlag(account.accountSid, 'Webchat Security', true), {
        code: 'invalid_input',
      });
      await assert.rejects(store.revokeDeploymentKey('DK1'), { code: 'invalid_input' });
    });

    void test('a rejected key is not echoed in the error', async () => {
      const { account } = await store.createAccount();
      const err = await store
        .addDeploymentKey(account.accountSid, 'secret key with spaces')
        .catch((e: unknown) => e);
      assert.ok(err instanceof Error);
      assert.ok(!err.message.includes('secret key'));
    });

    void test('adding a key to an unknown account', async () => {
      const before = await count('deployment_keys');
      await assert.rejects(store.addDeploymentKey(sid('AC', 0xabc)), {
        name: 'StoreError',
        code: 'account_not_found',
        message: `Account ${sid('AC', 0xabc)} not found`,
      });
      assert.equal(await count('deployment_keys'), before);
    });

    void test('setting a flag, updating or listing keys of an unknown account', async () => {
      const before = await count('feature_flags');
      await assert.rejects(store.setFeatureFlag(sid('AC', 0xabc), WEBCHAT_SECURITY_FLAG, true), {
        code: 'account_not_found',
      });
      assert.equal(await count('feature_flags'), before);
      await assert.rejects(store.updateAccount(sid('AC', 0xabc), { tokenTtlSeconds: 120 }), {
        code: 'account_not_found',
      });
      await assert.rejects(store.listDeploymentKeys(sid('AC', 0xabc)), { code: 'account_not_found' });
    });

    void test('revoking an unknown key', async () => {
      await assert.rejects(store.revokeDeploymentKey('DK' + 'f'.repeat(32)), {
        name: 'StoreError',
        code: 'deployment_key_not_found',
      });
    });

    void test('an account whose key is taken is not created at all (one transaction)', async () => {
      await store.createAccount({ deploymentKeys: ['already-taken-key'] });
      const accounts = await count('accounts');
      const keys = await count('deployment_keys');
      const flags = await count('feature_flags');

      await assert.rejects(
        store.createAccount({
          accountSid: sid('AC', 0x7a4e),
          deploymentKeys: ['a-fresh-key-123', 'already-taken-key'],
          featureFlags: { [WEBCHAT_SECURITY_FLAG]: true },
        }),
        { name: 'StoreError', code: 'deployment_key_exists' },
      );
      assert.equal(await store.getAccount(sid('AC', 0x7a4e)), null);
      assert.equal(await store.resolveDeploymentKey('a-fresh-key-123'), null);
      assert.deepEqual(
        [await count('accounts'), await count('deployment_keys'), await count('feature_flags')],
        [accounts, keys, flags],
      );
    });

    void test('an existing account SID', async () => {
      await store.createAccount({ accountSid: sid('AC', 0xd0b1e) });
      await assert.rejects(store.createAccount({ accountSid: sid('AC', 0xd0b1e) }), {
        code: 'account_exists',
        message: `Account ${sid('AC', 0xd0b1e)} already exists`,
      });
    });

    void test('an update with an invalid field changes nothing', async () => {
      const { account } = await store.createAccount({ tokenTtlSeconds: 600 });
      await assert.rejects(
        store.updateAccount(account.accountSid, {
          tokenTtlSeconds: 120,
          fingerprintSensitivity: 'max' as 'high',
        }),
        { code: 'invalid_input' },
      );
      await assert.rejects(store.updateAccount(account.accountSid, {}), { code: 'invalid_input' });
      assert.deepEqual(await store.getAccount(account.accountSid), account);
    });
  });

  void describe('updateAccount and listAccounts', () => {
    void test('an update changes only the given fields', async () => {
      const { account } = await store.createAccount({
        friendlyName: 'Before',
        allowedOrigins: ['https://a.example.com'],
        fingerprintSensitivity: 'low',
        tokenTtlSeconds: 600,
      });
      const updated = await store.updateAccount(account.accountSid, {
        allowedOrigins: [],
        fingerprintSensitivity: 'high',
      });
      assert.deepEqual(
        { ...updated, updatedAt: null },
        { ...account, allowedOrigins: [], fingerprintSensitivity: 'high', updatedAt: null },
      );
      assert.ok(updated.updatedAt >= account.updatedAt);
      assert.deepEqual(await store.getAccount(account.accountSid), updated);
    });

    void test('listAccounts includes every account, oldest first', async () => {
      const { account: first } = await store.createAccount({ friendlyName: 'list first' });
      const { account: second } = await store.createAccount({ friendlyName: 'list second' });
      const listed = await store.listAccounts();
      assert.equal(listed.length, await count('accounts'));
      const sids = listed.map((a) => a.accountSid);
      assert.ok(sids.indexOf(first.accountSid) < sids.indexOf(second.accountSid));
      assert.deepEqual(
        listed.find((a) => a.accountSid === second.accountSid),
        second,
      );
    });
  });
});
