import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WEBCHAT_SECURITY_FLAG } from '../../domain/contracts';
import { type AccountStore } from '../../store/accountStore';
import { openStore } from '../../store/openStore';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../helpers/testDatabase';
import { json, runCli } from './runCli';
import { accountSidOf, configOf, flagOf } from '../helpers/storeReads';

interface AccountJson {
  accountSid: string;
  friendlyName: string;
  allowedOrigins: string[];
  fingerprintSensitivity: string;
  tokenTtlSeconds: number;
  deploymentKeys: string[];
  featureFlags: Record<string, boolean>;
  webchatSecurity: boolean;
}
interface KeyJson {
  keyId: string;
  accountSid: string;
  keyPrefix: string;
  revokedAt: string | null;
}

/**
 * Every command through the CLI's entry function against a real store, inspected through the store itself.
 * `setup` gives the environment the CLI runs with and the store the test inspects.
 */
function commandSuite(
  title: string,
  setup: () => Promise<{ env: NodeJS.ProcessEnv; store: AccountStore; stop: () => Promise<void> }>,
) {
  void describe(title, () => {
    let env: NodeJS.ProcessEnv;
    let store: AccountStore;
    let stop: () => Promise<void>;
    before(async () => {
      ({ env, store, stop } = await setup());
    });
    after(async () => {
      await stop();
    });
    const cli = (...argv: string[]) => runCli(argv, env);
    const accountCount = async () => (await store.listAccounts()).length;

    void test('account create with every option: one account, its flag and a key that resolves', async () => {
      const out = json<{ account: AccountJson; keys: { keyId: string; key: string }[] }>(
        await cli(
          'account',
          'create',
          '--name',
          'Shop',
          '--origin',
          'https://Shop.example.com',
          '--origin',
          'https://*.example.org',
          '--sensitivity',
          'high',
          '--ttl',
          '900',
          '--security',
          'on',
          '--json',
        ),
      );
      assert.equal(out.keys.length, 1);
      const [key] = out.keys;
      assert.ok(key);
      assert.match(key.key, /^dk_[A-Za-z0-9_-]{32}$/);
      assert.deepEqual(
        { ...out.account, accountSid: null },
        {
          ...out.account,
          accountSid: null,
          friendlyName: 'Shop',
          allowedOrigins: ['https://shop.example.com', 'https://*.example.org'],
          fingerprintSensitivity: 'high',
          tokenTtlSeconds: 900,
          deploymentKeys: [key.keyId],
          featureFlags: { [WEBCHAT_SECURITY_FLAG]: true },
          webchatSecurity: true,
        },
      );
      assert.equal(await accountSidOf(store, key.key), out.account.accountSid);
      assert.equal(await flagOf(store, out.account.accountSid, WEBCHAT_SECURITY_FLAG), true);
    });

    void test('account create without options: the defaults, and the key printed once in the text', async () => {
      const run = await cli('account', 'create');
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
      const sid = /Created account (AC[0-9a-f]{32})\./.exec(run.stdout)?.[1];
      const key = /\s(dk_[A-Za-z0-9_-]{32})\n/.exec(run.stdout)?.[1];
      assert.ok(sid && key, run.stdout);
      assert.match(run.stdout, /shown once/);
      assert.equal(await accountSidOf(store, key), sid);
      assert.deepEqual(await configOf(store, sid), {
        accountSid: sid,
        allowedOrigins: [],
        addressSid: (await store.getAccount(sid))?.addressSid,
        deploymentKeys: (await store.getAccount(sid))?.deploymentKeys,
        fingerprintSensitivity: 'medium',
        tokenTtlSeconds: 3600,
        keyBinding: 'off',
      });
      assert.equal(await flagOf(store, sid, WEBCHAT_SECURITY_FLAG), false);
    });

    void test('account list and show: every account; show never prints a key', async () => {
      const created = json<{ account: AccountJson; keys: { key: string }[] }>(
        await cli('account', 'create', '--name', 'Listed', '--keys', '2', '--json'),
      );
      const sid = created.account.accountSid;
      const listed = json<{ accounts: AccountJson[] }>(await cli('account', 'list', '--json'));
      assert.equal(listed.accounts.length, await accountCount());
      assert.deepEqual(
        listed.accounts.find((a) => a.accountSid === sid),
        created.account,
      );
      const text = await cli('account', 'list');
      assert.match(text.stdout, new RegExp(`^${sid}\\s+off\\s+medium\\s+3600s\\s+2\\s+Listed$`, 'm'));

      const shown = await cli('account', 'show', sid, '--json');
      const body = json<{ account: AccountJson; keys: KeyJson[] }>(shown);
      assert.deepEqual(body.account, created.account);
      assert.deepEqual(
        body.keys.map((k) => k.keyId),
        created.account.deploymentKeys,
      );
      const shownText = await cli('account', 'show', sid);
      for (const { key } of created.keys) {
        assert.ok(!shown.stdout.includes(key) && !shownText.stdout.includes(key), 'a key is printed again');
        assert.ok(!shown.stdout.includes(key.slice(8)));
      }
    });

    void test('--key-binding on create and set, shown by account show; anything else is bad input', async () => {
      const created = json<{ account: AccountJson & { keyBinding: string } }>(
        await cli('account', 'create', '--key-binding', 'required', '--json'),
      );
      const sid = created.account.accountSid;
      assert.equal(created.account.keyBinding, 'required');
      assert.equal((await configOf(store, sid))?.keyBinding, 'required');
      assert.equal((await cli('account', 'set', sid, '--key-binding', 'optional')).code, 0);
      assert.equal((await configOf(store, sid))?.keyBinding, 'optional');
      const shown = await cli('account', 'show', sid);
      assert.match(shown.stdout, /^key binding {6}optional$/m);
      const bad = await cli('account', 'set', sid, '--key-binding', 'sometimes');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /keyBinding/);
      assert.equal((await configOf(store, sid))?.keyBinding, 'optional', 'nothing written');
      // The default: off.
      const plain = json<{ account: { keyBinding: string } }>(await cli('account', 'create', '--json'));
      assert.equal(plain.account.keyBinding, 'off');
    });

    void test('account set changes the given fields only; --any-origin clears the origins', async () => {
      const { account } = json<{ account: AccountJson }>(
        await cli('account', 'create', '--origin', 'https://a.example.com', '--ttl', '600', '--json'),
      );
      const sid = account.accountSid;
      json(
        await cli(
          'account',
          'set',
          sid,
          '--origin',
          'https://*.example.net',
          '--sensitivity',
          'low',
          '--json',
        ),
      );
      let config = await configOf(store, sid);
      assert.deepEqual(
        [config?.allowedOrigins, config?.fingerprintSensitivity, config?.tokenTtlSeconds],
        [['https://*.example.net'], 'low', 600],
      );
      const out = json<{ account: AccountJson }>(
        await cli('account', 'set', sid, '--any-origin', '--ttl', '120', '--json'),
      );
      assert.deepEqual(out.account.allowedOrigins, []);
      config = await configOf(store, sid);
      assert.deepEqual([config?.allowedOrigins, config?.tokenTtlSeconds], [[], 120]);
    });

    void test('--session-max-age: set with the account, shown, and back to the service default', async () => {
      const { account } = json<{ account: AccountJson }>(
        await cli('account', 'create', '--session-max-age', '7200', '--json'),
      );
      const sid = account.accountSid;
      assert.equal((await configOf(store, sid))?.sessionMaxAgeSeconds, 7200);
      const shown = await cli('account', 'show', sid);
      assert.match(shown.stdout, /^session max age {2}7200 s$/m);
      assert.equal((await cli('account', 'set', sid, '--session-max-age', 'default')).code, 0);
      const config = await configOf(store, sid);
      assert.equal(config !== null && 'sessionMaxAgeSeconds' in config, false);
      assert.match((await cli('account', 'show', sid)).stdout, /^session max age {2}service default$/m);
      const tooShort = await cli('account', 'set', sid, '--session-max-age', '30');
      assert.equal(tooShort.code, 2);
      assert.match(tooShort.stderr, /sessionMaxAgeSeconds: Too small/);
    });

    void test('key add, list and revoke: a revoked key no longer resolves, the other does', async () => {
      const { account, keys } = json<{ account: AccountJson; keys: { keyId: string; key: string }[] }>(
        await cli('account', 'create', '--json'),
      );
      const sid = account.accountSid;
      const added = json<{ accountSid: string; keyId: string; key: string }>(
        await cli('key', 'add', sid, '--json'),
      );
      assert.equal(added.accountSid, sid);
      assert.equal(await accountSidOf(store, added.key), sid);

      const first = keys[0];
      assert.ok(first);
      const revoked = json<{ key: KeyJson }>(await cli('key', 'revoke', first.keyId, '--json'));
      assert.equal(revoked.key.keyId, first.keyId);
      assert.ok(revoked.key.revokedAt);
      assert.equal(await accountSidOf(store, first.key), null);
      assert.equal(await accountSidOf(store, added.key), sid);

      const listed = await cli('key', 'list', sid, '--json');
      const { keys: infos } = json<{ keys: KeyJson[] }>(listed);
      assert.deepEqual(
        infos.map((k) => [k.keyId, k.keyPrefix, k.revokedAt !== null]),
        [
          [first.keyId, first.key.slice(0, 8), true],
          [added.keyId, added.key.slice(0, 8), false],
        ],
      );
      assert.ok(!listed.stdout.includes(added.key));
      const text = await cli('key', 'list', sid);
      assert.match(text.stdout, new RegExp(`^${first.keyId}\\s+${first.key.slice(0, 8)}…\\s+revoked `, 'm'));
      assert.match(text.stdout, new RegExp(`^${added.keyId}\\s+\\S+\\s+live\\s`, 'm'));
    });

    void test('security on and off', async () => {
      const { account } = json<{ account: AccountJson }>(
        await cli('account', 'create', '--keys', '0', '--json'),
      );
      const sid = account.accountSid;
      assert.equal(
        json<{ account: AccountJson }>(await cli('security', 'on', sid, '--json')).account.webchatSecurity,
        true,
      );
      assert.equal(await flagOf(store, sid, WEBCHAT_SECURITY_FLAG), true);
      const off = await cli('security', 'off', sid);
      assert.deepEqual([off.code, off.stdout], [0, `${WEBCHAT_SECURITY_FLAG} is off for ${sid}.\n`]);
      assert.equal(await flagOf(store, sid, WEBCHAT_SECURITY_FLAG), false);
    });

    void test('bad input: exit 2, the reason on stderr, nothing on stdout, nothing written', async () => {
      const { account } = json<{ account: AccountJson }>(
        await cli('account', 'create', '--ttl', '700', '--json'),
      );
      const sid = account.accountSid;
      const before = await store.listAccounts();
      const cases: [string[], RegExp][] = [
        [['account', 'create', '--ttl', '59'], /tokenTtlSeconds: Too small/],
        [['account', 'create', '--ttl', '1h'], /--ttl must be a whole number/],
        [['account', 'create', '--sensitivity', 'paranoid'], /fingerprintSensitivity/],
        [
          ['account', 'create', '--origin', 'http://*.example.com'],
          /allowedOrigins\.0: must be an http\(s\) origin/,
        ],
        [['account', 'create', '--origin', 'https://ok.example.com', '--origin', '*'], /allowedOrigins\.1/],
        [['account', 'create', '--security', 'yes'], /--security must be on or off/],
        [['account', 'create', '--keys', '11'], /--keys must be 0 to 10/],
        [['account', 'set', sid, '--ttl', '90000', '--name', 'never'], /tokenTtlSeconds: Too big/],
        [['account', 'set', sid, '--origin', 'https://a.example.com', '--any-origin'], /not both/],
        [['account', 'set', sid], /Nothing to change/],
        [['account', 'show', 'AC123'], /account SID: must be AC followed by 32/],
        [['key', 'revoke', 'dk_demo_open'], /key id: must be DK followed by 32/],
        [['account', 'create', '--frobnicate'], /Unknown option '--frobnicate'/],
        [['account', 'show'], /takes <AC\.\.\.>, got none/],
        [['accounts', 'list'], /Unknown command: accounts list/],
        [[], /No command given/],
      ];
      for (const [argv, message] of cases) {
        const run = await cli(...argv);
        assert.equal(run.code, 2, `${argv.join(' ')}: ${run.stderr}`);
        assert.equal(run.stdout, '', argv.join(' '));
        assert.match(run.stderr, message, argv.join(' '));
        assert.match(run.stderr, /^error: /);
      }
      assert.deepEqual(await store.listAccounts(), before);

      const asJson = await cli('account', 'create', '--ttl', '59', '--json');
      assert.equal(asJson.code, 2);
      assert.deepEqual(JSON.parse(asJson.stderr), {
        error: {
          code: 'invalid_input',
          message: 'Invalid account: tokenTtlSeconds: Too small: expected number to be >=60',
          issues: [{ path: 'tokenTtlSeconds', message: 'Too small: expected number to be >=60' }],
        },
      });
    });

    void test('an unknown account or key: exit 1 with the store’s code', async () => {
      const missing = 'AC' + 'e'.repeat(32);
      for (const argv of [
        ['account', 'show', missing],
        ['account', 'set', missing, '--ttl', '120'],
        ['key', 'add', missing],
        ['key', 'list', missing],
        ['security', 'on', missing],
      ]) {
        const run = await cli(...argv, '--json');
        assert.equal(run.code, 1, argv.join(' '));
        assert.deepEqual(JSON.parse(run.stderr), {
          error: { code: 'account_not_found', message: `Account ${missing} not found` },
        });
      }
      const run = await cli('key', 'revoke', 'DK' + 'e'.repeat(32));
      assert.deepEqual([run.code, run.stderr], [1, `error: Deployment key DK${'e'.repeat(32)} not found\n`]);
    });

    void test('store backup: an online copy on SQLite; on PostgreSQL it points to pg_dump', async () => {
      const { account } = await store.createAccount({ friendlyName: 'backed up' });
      const dir = await mkdtemp(join(tmpdir(), 'admin-backup-'));
      try {
        const file = join(dir, 'copy.sqlite');
        const run = await cli('store', 'backup', file);
        if (env.DATABASE_URL) {
          assert.deepEqual(run, {
            code: 1,
            stdout: '',
            stderr: 'error: The store is on PostgreSQL (DATABASE_URL): back it up with pg_dump\n',
          });
          return;
        }
        assert.deepEqual(run, { code: 0, stdout: `Backed up the store into ${file}.\n`, stderr: '' });
        const restoredDir = join(dir, 'restored');
        await mkdir(restoredDir);
        await copyFile(file, join(restoredDir, 'store.sqlite'));
        const restored = await openStore({ dataDir: restoredDir });
        try {
          assert.equal((await restored.getAccount(account.accountSid))?.friendlyName, 'backed up');
        } finally {
          await restored.close();
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}

commandSuite('the CLI on the SQLite file, which another connection has open too', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'admin-cli-'));
  // Open as the running services have it: the CLI opens the same file beside them.
  const store = await openStore({ dataDir });
  return {
    env: { DATA_DIR: dataDir },
    store,
    stop: async () => {
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

const skipPostgres = postgresUnavailable();
if (skipPostgres) {
  void test('the CLI on PostgreSQL (DATABASE_URL)', { skip: skipPostgres }, () => {});
} else {
  commandSuite('the CLI on PostgreSQL (DATABASE_URL)', async () => {
    const schema: TestSchema = await createTestSchema('admin');
    const store = await openStore({ dataDir: null, databaseUrl: schema.url });
    return {
      // DATA_DIR points nowhere useful on purpose: with DATABASE_URL it must not be used.
      env: { DATABASE_URL: schema.url, DATA_DIR: join(tmpdir(), 'admin-cli-unused') },
      store,
      stop: async () => {
        await store.close();
        await schema.drop();
      },
    };
  });
}
