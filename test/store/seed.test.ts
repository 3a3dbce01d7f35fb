import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WEBCHAT_SECURITY_FLAG } from '../../domain/contracts';
import { AccountStore } from '../../store/accountStore';
import { migrate } from '../../store/migrate';
import { seedDemoAccounts } from '../../store/seed';
import { type SqlClient } from '../../store/sqlClient';
import { forEachBackend } from './backends';

forEachBackend('demo seed', (db) => {
  // The tests build on each other, in order, on one store that starts empty: the seed acts only on a store
  // without other accounts.
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

  const OPEN = 'AC00000000000000000000000000000001';
  const SECURE = 'AC00000000000000000000000000000002';

  void test('an empty store gets the two demo accounts, with the documented SIDs, keys and flags', async () => {
    const { created } = await seedDemoAccounts(store);
    assert.deepEqual(
      created.map((d) => [d.accountSid, d.deploymentKey]),
      [
        [OPEN, 'dk_demo_open'],
        [SECURE, 'dk_demo_secure'],
      ],
    );

    assert.equal(await store.resolveDeploymentKey('dk_demo_open'), OPEN);
    assert.equal(await store.resolveDeploymentKey('dk_demo_secure'), SECURE);
    assert.equal(await store.getFeatureFlag(OPEN, WEBCHAT_SECURITY_FLAG), false);
    assert.equal(await store.getFeatureFlag(SECURE, WEBCHAT_SECURITY_FLAG), true);

    const open = await store.getAccountConfig(OPEN);
    const secure = await store.getAccountConfig(SECURE);
    assert.equal(open?.deploymentKeys.length, 1);
    assert.equal(secure?.deploymentKeys.length, 1);
    assert.deepEqual(open, {
      accountSid: OPEN,
      allowedOrigins: [],
      addressSid: 'AD00000000000000000000000000000001',
      deploymentKeys: open.deploymentKeys,
      fingerprintSensitivity: 'low',
      tokenTtlSeconds: 3600,
    });
    assert.deepEqual(secure, {
      accountSid: SECURE,
      allowedOrigins: ['http://localhost:8081', 'https://*.example.com'],
      addressSid: 'AD00000000000000000000000000000002',
      deploymentKeys: secure.deploymentKeys,
      fingerprintSensitivity: 'medium',
      tokenTtlSeconds: 3600,
    });
  });

  void test('seeding again does nothing', async () => {
    const before = await store.listAccounts();
    assert.deepEqual(await seedDemoAccounts(store), { created: [] });
    assert.deepEqual(await store.listAccounts(), before);
  });

  void test('a missing demo account is recreated; an operator’s change to the other is kept', async () => {
    // What a crash between the two accounts, then an operator's edit, would leave behind.
    await sql.query('DELETE FROM accounts WHERE account_sid = $1', [SECURE]);
    await store.updateAccount(OPEN, { tokenTtlSeconds: 120 });

    const { created } = await seedDemoAccounts(store);
    assert.deepEqual(
      created.map((d) => d.accountSid),
      [SECURE],
    );
    assert.equal(await store.resolveDeploymentKey('dk_demo_secure'), SECURE);
    assert.equal((await store.getAccountConfig(OPEN))?.tokenTtlSeconds, 120);
  });

  void test('a store with a real account never gets demo accounts', async () => {
    await sql.query('DELETE FROM accounts WHERE account_sid = $1', [SECURE]);
    await store.createAccount({ friendlyName: 'A real customer' });

    assert.deepEqual(await seedDemoAccounts(store), { created: [] });
    assert.equal(await store.getAccount(SECURE), null);
    assert.equal(await store.resolveDeploymentKey('dk_demo_secure'), null);
  });
});
