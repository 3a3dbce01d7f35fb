import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { WEBCHAT_SECURITY_FLAG } from '../../domain/contracts';
import { forEachBackend, suiteStore } from './backends';
import { countRows, dumpTables } from './tables';
import { accountSidOf } from '../helpers/storeReads';

// The operator's writes (store/accountAdmin.ts): validated, transactional, no key in clear text.
forEachBackend('account admin', (db) => {
  // One database per backend; every test makes its own accounts.
  const suite = suiteStore(db);

  const sid = (prefix: 'AC' | 'AD', n: number) => prefix + n.toString(16).padStart(32, '0');

  const count = (table: string) => countRows(suite.database, table);

  void describe('deployment keys are secret', () => {
    void test('a generated key carries at least 128 random bits and differs every time', async () => {
      const { account } = await suite.store.createAccount();
      const keys = await Promise.all(
        Array.from({ length: 16 }, () => suite.store.addDeploymentKey(account.accountSid)),
      );
      for (const { key, keyId } of keys) {
        assert.match(key, /^dk_[A-Za-z0-9_-]{32}$/);
        assert.equal(Buffer.from(key.slice(3), 'base64url').length * 8, 192);
        assert.match(keyId, /^DK[0-9a-f]{32}$/);
        assert.equal(await accountSidOf(suite.store, key), account.accountSid);
      }
      assert.equal(new Set(keys.map((k) => k.key)).size, keys.length);
      assert.equal(new Set(keys.map((k) => k.keyId)).size, keys.length);
    });

    void test('no table holds a key in clear text: only its SHA-256 and an 8-character prefix', async () => {
      const { account } = await suite.store.createAccount({
        deploymentKeys: ['chosen-key-in-clear-0123456789'],
      });
      const generated = await suite.store.addDeploymentKey(account.accountSid);

      const dump = await dumpTables(suite.database);
      for (const key of ['chosen-key-in-clear-0123456789', generated.key]) {
        assert.ok(!dump.includes(key), 'the plaintext key is stored');
        assert.ok(!dump.includes(Buffer.from(key).toString('hex')), 'the key is stored hex-encoded');
        assert.ok(!dump.includes(key.slice(8)), 'the key beyond its prefix is stored');
      }

      const row = await suite.database.db
        .selectFrom('deployment_keys')
        .select(['key_hash', 'key_prefix'])
        .where('key_id', '=', generated.keyId)
        .executeTakeFirst();
      const expected = createHash('sha256').update(generated.key).digest();
      assert.deepEqual(Buffer.from(row?.key_hash ?? []), expected);
      assert.equal(row?.key_prefix, generated.key.slice(0, 8));

      const listed = await suite.store.listDeploymentKeys(account.accountSid);
      assert.deepEqual(listed.map((k) => k.keyPrefix).sort(), ['chosen-k', generated.key.slice(0, 8)].sort());
      assert.ok(listed.every((k) => !Object.values(k).includes(generated.key)));
    });
  });

  void describe('invalid input is rejected with a typed error and nothing is written', () => {
    void test('bad sensitivity', async () => {
      const before = await count('accounts');
      await assert.rejects(suite.store.createAccount({ fingerprintSensitivity: 'paranoid' as 'high' }), {
        name: 'StoreError',
        code: 'invalid_input',
        message: /fingerprintSensitivity/,
      });
      assert.equal(await count('accounts'), before);
    });

    void test('TTL outside 60..86400 seconds, or not an integer', async () => {
      const before = await count('accounts');
      for (const tokenTtlSeconds of [59, 86401, 0, -1, 600.5]) {
        await assert.rejects(suite.store.createAccount({ tokenTtlSeconds }), {
          name: 'StoreError',
          code: 'invalid_input',
          message: /tokenTtlSeconds/,
        });
      }
      assert.equal(await count('accounts'), before);
      assert.equal((await suite.store.createAccount({ tokenTtlSeconds: 60 })).account.tokenTtlSeconds, 60);
      assert.equal(
        (await suite.store.createAccount({ tokenTtlSeconds: 86400 })).account.tokenTtlSeconds,
        86400,
      );
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
          suite.store.createAccount({ allowedOrigins: [origin] }),
          { code: 'invalid_input', message: /allowedOrigins\.0/ },
          origin,
        );
      }
    });

    void test('malformed SIDs, unknown fields, bad keys and flag names', async () => {
      await assert.rejects(suite.store.createAccount({ accountSid: 'AC123' }), { code: 'invalid_input' });
      await assert.rejects(suite.store.createAccount({ addressSid: sid('AC', 1) }), {
        code: 'invalid_input',
      });
      await assert.rejects(suite.store.createAccount({ tokenTTL: 60 } as never), {
        code: 'invalid_input',
        message: /tokenTTL/,
      });
      const { account } = await suite.store.createAccount();
      await assert.rejects(suite.store.addDeploymentKey(account.accountSid, 'short'), {
        code: 'invalid_input',
      });
      await assert.rejects(suite.store.addDeploymentKey(account.accountSid, 'has spaces in it'), {
        code: 'invalid_input',
      });
      await assert.rejects(suite.store.setFeatureFlag(account.accountSid, 'Webchat Security', true), {
        code: 'invalid_input',
      });
      await assert.rejects(suite.store.revokeDeploymentKey('DK1'), { code: 'invalid_input' });
    });

    void test('a rejected key is not echoed in the error', async () => {
      const { account } = await suite.store.createAccount();
      const err = await suite.store
        .addDeploymentKey(account.accountSid, 'secret key with spaces')
        .catch((e: unknown) => e);
      assert.ok(err instanceof Error);
      assert.ok(!err.message.includes('secret key'));
    });

    void test('adding a key to an unknown account', async () => {
      const before = await count('deployment_keys');
      await assert.rejects(suite.store.addDeploymentKey(sid('AC', 0xabc)), {
        name: 'StoreError',
        code: 'account_not_found',
        message: `Account ${sid('AC', 0xabc)} not found`,
      });
      assert.equal(await count('deployment_keys'), before);
    });

    void test('setting a flag, updating or listing keys of an unknown account', async () => {
      const before = await count('feature_flags');
      await assert.rejects(suite.store.setFeatureFlag(sid('AC', 0xabc), WEBCHAT_SECURITY_FLAG, true), {
        code: 'account_not_found',
      });
      assert.equal(await count('feature_flags'), before);
      await assert.rejects(suite.store.updateAccount(sid('AC', 0xabc), { tokenTtlSeconds: 120 }), {
        code: 'account_not_found',
      });
      await assert.rejects(suite.store.listDeploymentKeys(sid('AC', 0xabc)), { code: 'account_not_found' });
    });

    void test('revoking an unknown key', async () => {
      await assert.rejects(suite.store.revokeDeploymentKey('DK' + 'f'.repeat(32)), {
        name: 'StoreError',
        code: 'deployment_key_not_found',
      });
    });

    void test('an account whose key is taken is not created at all (one transaction)', async () => {
      await suite.store.createAccount({ deploymentKeys: ['already-taken-key'] });
      const accounts = await count('accounts');
      const keys = await count('deployment_keys');
      const flags = await count('feature_flags');

      await assert.rejects(
        suite.store.createAccount({
          accountSid: sid('AC', 0x7a4e),
          deploymentKeys: ['a-fresh-key-123', 'already-taken-key'],
          featureFlags: { [WEBCHAT_SECURITY_FLAG]: true },
        }),
        { name: 'StoreError', code: 'deployment_key_exists' },
      );
      assert.equal(await suite.store.getAccount(sid('AC', 0x7a4e)), null);
      assert.equal(await accountSidOf(suite.store, 'a-fresh-key-123'), null);
      assert.deepEqual(
        [await count('accounts'), await count('deployment_keys'), await count('feature_flags')],
        [accounts, keys, flags],
      );
    });

    void test('an existing account SID', async () => {
      await suite.store.createAccount({ accountSid: sid('AC', 0xd0b1e) });
      await assert.rejects(suite.store.createAccount({ accountSid: sid('AC', 0xd0b1e) }), {
        code: 'account_exists',
        message: `Account ${sid('AC', 0xd0b1e)} already exists`,
      });
    });

    void test('an update with an invalid field changes nothing', async () => {
      const { account } = await suite.store.createAccount({ tokenTtlSeconds: 600 });
      await assert.rejects(
        suite.store.updateAccount(account.accountSid, {
          tokenTtlSeconds: 120,
          fingerprintSensitivity: 'max' as 'high',
        }),
        { code: 'invalid_input' },
      );
      await assert.rejects(suite.store.updateAccount(account.accountSid, {}), { code: 'invalid_input' });
      assert.deepEqual(await suite.store.getAccount(account.accountSid), account);
    });
  });

  void describe('updateAccount and listAccounts', () => {
    void test('an update changes only the given fields', async () => {
      const { account } = await suite.store.createAccount({
        friendlyName: 'Before',
        allowedOrigins: ['https://a.example.com'],
        fingerprintSensitivity: 'low',
        tokenTtlSeconds: 600,
      });
      const updated = await suite.store.updateAccount(account.accountSid, {
        allowedOrigins: [],
        fingerprintSensitivity: 'high',
      });
      assert.deepEqual(
        { ...updated, updatedAt: null },
        { ...account, allowedOrigins: [], fingerprintSensitivity: 'high', updatedAt: null },
      );
      assert.ok(updated.updatedAt >= account.updatedAt);
      assert.deepEqual(await suite.store.getAccount(account.accountSid), updated);
    });

    void test('listAccounts includes every account, oldest first', async () => {
      const { account: first } = await suite.store.createAccount({ friendlyName: 'list first' });
      // Times are kept to the millisecond: two accounts of the same millisecond are listed by SID.
      await new Promise((resolve) => setTimeout(resolve, 2));
      const { account: second } = await suite.store.createAccount({ friendlyName: 'list second' });
      const listed = await suite.store.listAccounts();
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
