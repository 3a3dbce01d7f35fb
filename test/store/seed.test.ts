import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WEBCHAT_SECURITY_FLAG } from '../../domain/contracts';
import { seedDemoAccounts } from '../../store/seed';
import { forEachBackend, suiteStore } from './backends';
import { accountSidOf, configOf, flagOf } from '../helpers/storeReads';

forEachBackend('demo seed', (db) => {
  // The tests build on each other, in order, on one store that starts empty: the seed acts only on a store
  // without other accounts.
  const suite = suiteStore(db);

  const OPEN = 'AC00000000000000000000000000000001';
  const SECURE = 'AC00000000000000000000000000000002';
  const DPOP = 'AC00000000000000000000000000000003';

  void test('an empty store gets the three demo accounts, with the documented SIDs, keys and settings', async () => {
    const { created } = await seedDemoAccounts(suite.store);
    assert.deepEqual(
      created.map((d) => [d.accountSid, d.deploymentKey]),
      [
        [OPEN, 'dk_demo_open'],
        [SECURE, 'dk_demo_secure'],
        [DPOP, 'dk_demo_dpop'],
      ],
    );

    assert.equal(await accountSidOf(suite.store, 'dk_demo_open'), OPEN);
    assert.equal(await accountSidOf(suite.store, 'dk_demo_secure'), SECURE);
    assert.equal(await flagOf(suite.store, OPEN, WEBCHAT_SECURITY_FLAG), false);
    assert.equal(await flagOf(suite.store, SECURE, WEBCHAT_SECURITY_FLAG), true);

    const open = await configOf(suite.store, OPEN);
    const secure = await configOf(suite.store, SECURE);
    assert.equal(open?.deploymentKeys.length, 1);
    assert.equal(secure?.deploymentKeys.length, 1);
    assert.deepEqual(open, {
      accountSid: OPEN,
      allowedOrigins: [],
      addressSid: 'AD00000000000000000000000000000001',
      deploymentKeys: open.deploymentKeys,
      fingerprintSensitivity: 'low',
      tokenTtlSeconds: 3600,
      keyBinding: 'off',
    });
    assert.deepEqual(secure, {
      accountSid: SECURE,
      allowedOrigins: ['http://localhost:8081', 'https://*.example.com'],
      addressSid: 'AD00000000000000000000000000000002',
      deploymentKeys: secure.deploymentKeys,
      fingerprintSensitivity: 'medium',
      tokenTtlSeconds: 3600,
      keyBinding: 'off',
    });
    const dpop = await configOf(suite.store, DPOP);
    assert.deepEqual(dpop && { ...dpop, deploymentKeys: dpop.deploymentKeys.length }, {
      accountSid: DPOP,
      allowedOrigins: ['http://localhost:8081'],
      addressSid: 'AD00000000000000000000000000000003',
      deploymentKeys: 1,
      fingerprintSensitivity: 'medium',
      tokenTtlSeconds: 3600,
      keyBinding: 'required',
    });
    assert.equal(await flagOf(suite.store, DPOP, WEBCHAT_SECURITY_FLAG), false);
  });

  void test('seeding again does nothing', async () => {
    const before = await suite.store.listAccounts();
    assert.deepEqual(await seedDemoAccounts(suite.store), { created: [] });
    assert.deepEqual(await suite.store.listAccounts(), before);
  });

  void test('a missing demo account is recreated; an operator’s change to the other is kept', async () => {
    // What a crash between the two accounts, then an operator's edit, would leave behind.
    await suite.database.db.deleteFrom('accounts').where('account_sid', '=', SECURE).execute();
    await suite.store.updateAccount(OPEN, { tokenTtlSeconds: 120 });

    const { created } = await seedDemoAccounts(suite.store);
    assert.deepEqual(
      created.map((d) => d.accountSid),
      [SECURE],
    );
    assert.equal(await accountSidOf(suite.store, 'dk_demo_secure'), SECURE);
    assert.equal((await configOf(suite.store, OPEN))?.tokenTtlSeconds, 120);
  });

  void test('a store with a real account never gets demo accounts', async () => {
    await suite.database.db.deleteFrom('accounts').where('account_sid', '=', SECURE).execute();
    await suite.store.createAccount({ friendlyName: 'A real customer' });

    assert.deepEqual(await seedDemoAccounts(suite.store), { created: [] });
    assert.equal(await suite.store.getAccount(SECURE), null);
    assert.equal(await accountSidOf(suite.store, 'dk_demo_secure'), null);
  });
});
