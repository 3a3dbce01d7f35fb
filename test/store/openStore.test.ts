import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { WEBCHAT_SECURITY_FLAG } from '../../domain/contracts';
import { sqliteFile } from '../../store/database';
import { openStore } from '../../store/openStore';
import { forEachBackend } from './backends';
import { accountSidOf } from '../helpers/storeReads';

const root = resolve(__dirname, '..', '..');
const timeout = 120_000;

forEachBackend('openStore', (db) => {
  void test('a store keeps its data across a restart and migrates only once', { timeout }, async () => {
    const first = await openStore(db.options);
    const { account } = await first.createAccount({ friendlyName: 'Persisted', tokenTtlSeconds: 700 });
    const { key, keyId } = await first.addDeploymentKey(account.accountSid);
    await first.setFeatureFlag(account.accountSid, WEBCHAT_SECURITY_FLAG, true);
    await first.close();

    const second = await openStore(db.options);
    try {
      assert.equal(await accountSidOf(second, key), account.accountSid);
      assert.deepEqual(await second.getAccount(account.accountSid), {
        ...account,
        deploymentKeys: [keyId],
        featureFlags: { [WEBCHAT_SECURITY_FLAG]: true },
      });
      const applied = await second.storeDatabase.db
        .selectFrom('kysely_migration' as never)
        .select('name' as never)
        .execute();
      assert.deepEqual(
        applied.map((m) => (m as { name: string }).name),
        ['001_schema', '002_session_strikes', '003_key_binding'],
      );
    } finally {
      await second.close();
    }
  });
});

void describe('the SQLite file', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'store-file-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  void test('lives at DATA_DIR/store.sqlite, readable by its owner only, in WAL mode', async () => {
    const store = await openStore({ dataDir });
    await store.createAccount();
    try {
      const file = sqliteFile(dataDir);
      assert.equal(file, join(dataDir, 'store.sqlite'));
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      const sqlite = new SqliteDatabase(file, { readonly: true });
      try {
        assert.equal(sqlite.pragma('journal_mode', { simple: true }), 'wal');
      } finally {
        sqlite.close();
      }
    } finally {
      await store.close();
    }
  });

  void test('an unreachable DATABASE_URL fails fast with the driver’s error', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    await assert.rejects(openStore({ dataDir, databaseUrl: 'postgres://postgres@127.0.0.1:1/test' }), {
      code: 'ECONNREFUSED',
    });
  });
});

/** `test/store/storeWriter.ts` as a process of its own: its committed accounts, a line each. */
function startWriter(dataDir: string, count: number) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/store/storeWriter.ts', dataDir, String(count)],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const committed: { accountSid: string; key: string }[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [accountSid = '', key = ''] = line.split(' ');
    committed.push({ accountSid, key });
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, committed, exited, stderr: () => stderr };
}

const waitFor = async (condition: () => boolean, child: ChildProcess) => {
  while (!condition()) {
    if (child.exitCode !== null) throw new Error(`the writer exited early with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

void describe('several processes on one SQLite file', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'store-shared-'));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  void test(
    'writers in four processes at once, while this one reads: none fails, none waits in vain',
    { timeout },
    async () => {
      const store = await openStore({ dataDir });
      const writers = [1, 2, 3, 4].map(() => startWriter(dataDir, 25));
      let reads = 0;
      let reading = true;
      const reader = (async () => {
        while (reading) {
          await store.listAccounts();
          reads++;
          await new Promise((r) => setImmediate(r));
        }
      })();
      try {
        const results = await Promise.all(writers.map((w) => w.exited));
        for (const [i, result] of results.entries()) {
          assert.equal(result.code, 0, writers[i]!.stderr());
          assert.doesNotMatch(writers[i]!.stderr(), /locked|SQLITE_BUSY/);
        }
        reading = false;
        await reader;
        assert.ok(reads > 0);
        const accounts = await store.listAccounts();
        assert.equal(accounts.length, 100);
        for (const { accountSid, key } of writers.flatMap((w) => w.committed)) {
          assert.equal(await accountSidOf(store, key), accountSid);
        }
      } finally {
        reading = false;
        await store.close();
      }
    },
  );

  void test(
    'a writer killed mid-write (SIGKILL) leaves a whole database with every committed row',
    { timeout },
    async () => {
      for (let round = 0; round < 3; round++) {
        const writer = startWriter(dataDir, 1_000_000);
        const killAfter = 5 + Math.floor(Math.random() * 20);
        await waitFor(() => writer.committed.length >= killAfter, writer.child);
        // A moment later, somewhere inside one of the next transactions.
        await new Promise((r) => setTimeout(r, Math.random() * 5));
        writer.child.kill('SIGKILL');
        assert.equal((await writer.exited).signal, 'SIGKILL');

        const sqlite = new SqliteDatabase(sqliteFile(dataDir));
        try {
          assert.equal(sqlite.pragma('integrity_check', { simple: true }), 'ok');
        } finally {
          sqlite.close();
        }
        const store = await openStore({ dataDir });
        try {
          for (const { accountSid, key } of writer.committed) {
            assert.equal(await accountSidOf(store, key), accountSid, `round ${round}: ${accountSid}`);
          }
        } finally {
          await store.close();
        }
      }
    },
  );

  void test('store backup copies the whole store while another process writes', { timeout }, async () => {
    const store = await openStore({ dataDir });
    const before = (await store.listAccounts()).length;
    const writer = startWriter(dataDir, 1_000_000);
    try {
      await waitFor(() => writer.committed.length >= 5, writer.child);
      const file = join(dataDir, 'backup.sqlite');
      const committedBefore = [...writer.committed];
      await store.backup(file);
      writer.child.kill('SIGTERM');
      await writer.exited;
      assert.equal((await stat(file)).mode & 0o777, 0o600);

      const backupDir = await mkdtemp(join(tmpdir(), 'store-restored-'));
      try {
        const { copyFile } = await import('node:fs/promises');
        await copyFile(file, sqliteFile(backupDir));
        const restored = await openStore({ dataDir: backupDir });
        try {
          const accounts = await restored.listAccounts();
          assert.ok(accounts.length >= before + committedBefore.length);
          for (const { accountSid, key } of committedBefore) {
            assert.equal(await accountSidOf(restored, key), accountSid);
          }
        } finally {
          await restored.close();
        }
      } finally {
        await rm(backupDir, { recursive: true, force: true });
      }
    } finally {
      writer.child.kill('SIGKILL');
      await store.close();
    }
  });
});
