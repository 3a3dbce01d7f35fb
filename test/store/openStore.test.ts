import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WEBCHAT_SECURITY_FLAG } from '../../domain/contracts';
import { migrate } from '../../store/migrate';
import { openStore } from '../../store/openStore';
import { openEmbeddedClient } from '../../store/embeddedClient';
import { embeddedSocketDir, probeEmbeddedStore } from '../../store/embeddedSocket';
import { forEachBackend } from './backends';

let dataDir: string;
// Without the lock a second PGlite on the same folder can hang: fail instead of waiting forever.
const timeout = 60_000;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'account-store-'));
});

after(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

forEachBackend('openStore', (db) => {
  void test('a store keeps its data across a restart and migrates only once', { timeout }, async () => {
    // The embedded store lives in dataDir; a server-backed one ignores dataDir.
    const dir = join(dataDir, db.name);
    const options = { dataDir: dir, databaseUrl: db.databaseUrl };
    const first = await openStore(options);
    const { account } = await first.createAccount({ friendlyName: 'Persisted', tokenTtlSeconds: 700 });
    const { key, keyId } = await first.addDeploymentKey(account.accountSid);
    await first.setFeatureFlag(account.accountSid, WEBCHAT_SECURITY_FLAG, true);
    await first.close();

    const embeddedFile = stat(join(dir, 'accounts', 'PG_VERSION')).then(
      (s) => s.isFile(),
      () => false,
    );
    assert.equal(await embeddedFile, db.name === 'PGlite');

    const second = await openStore(options);
    try {
      assert.equal(await second.resolveDeploymentKey(key), account.accountSid);
      assert.deepEqual(await second.getAccount(account.accountSid), {
        ...account,
        deploymentKeys: [keyId],
        featureFlags: { [WEBCHAT_SECURITY_FLAG]: true },
      });
    } finally {
      await second.close();
    }

    // Opened twice, migrated once: the migration table has one row per file and a third run applies nothing.
    const client = db.name === 'PGlite' ? await openEmbeddedClient(dir) : await db.connect();
    try {
      const { rows } = await client.query<{ version: number; name: string }>(
        'SELECT version, name FROM schema_migrations ORDER BY version',
      );
      assert.deepEqual(rows, [{ version: 1, name: '001_init.sql' }]);
      assert.deepEqual(await migrate(client), []);
    } finally {
      await client.close();
    }
  });
});

void test('an unreachable DATABASE_URL fails fast with the driver’s error', { timeout }, async () => {
  // Port 1 on loopback: nothing listens there, so the connection is refused at once.
  await assert.rejects(openStore({ dataDir, databaseUrl: 'postgres://postgres@127.0.0.1:1/test' }), {
    code: 'ECONNREFUSED',
  });
});

void test(
  'a second opener of the same folder goes through the first one’s socket; the first one’s close ends it',
  { timeout },
  async () => {
    const first = await openStore({ dataDir });
    let second: Awaited<ReturnType<typeof openStore>> | undefined;
    try {
      // The first opener found nobody serving the folder, so it serves it; the second one connects.
      second = await openStore({ dataDir });
      const { account } = await second.createAccount({ friendlyName: 'through the socket' });
      assert.equal((await first.getAccount(account.accountSid))?.friendlyName, 'through the socket');
    } finally {
      await second?.close();
      await first.close();
    }
    assert.deepEqual(await probeEmbeddedStore(embeddedSocketDir(dataDir)), { ok: false, reason: 'ENOENT' });
    const again = await openStore({ dataDir });
    await again.close();
  },
);

void test(
  'a folder locked by a live process that does not serve it: store_locked, saying what to do',
  { timeout },
  async () => {
    const lockPath = join(dataDir, 'accounts.lock');
    // The parent's pid: a live process, which holds the lock but never listens.
    await writeFile(lockPath, `${process.ppid}\n`);
    try {
      await assert.rejects(openStore({ dataDir }), {
        name: 'StoreError',
        code: 'store_locked',
        message: new RegExp(
          `already open in process ${process.ppid}.* does not serve the store at .*run \\(ENOENT\\)`,
        ),
      });
    } finally {
      await rm(lockPath, { force: true });
    }
  },
);

void test('a lock left by a process that no longer exists is taken over', { timeout }, async () => {
  const lockPath = join(dataDir, 'accounts.lock');
  // Pid 2^22 + 1 is above Linux's pid_max, so no process has it.
  await writeFile(lockPath, `${2 ** 22 + 1}\n`);
  const store = await openStore({ dataDir });
  try {
    assert.equal((await readFile(lockPath, 'utf8')).trim(), String(process.pid));
  } finally {
    await store.close();
  }
  await assert.rejects(stat(lockPath), { code: 'ENOENT' });
});
