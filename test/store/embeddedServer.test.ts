import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from 'pg';
import { AccountStore } from '../../store/accountStore';
import { openEmbeddedClient } from '../../store/embeddedClient';
import { embeddedConnection, embeddedSocketPath, probeEmbeddedStore } from '../../store/embeddedSocket';
import { type EmbeddedServer, serveEmbeddedStore } from '../../store/embeddedServer';
import { migrate } from '../../store/migrate';
import { createPgClient } from '../../store/pgClient';

// The embedded store as every process reaches it: PGlite behind a PostgreSQL wire-protocol socket, `pg` in front.
let dir: string;
let server: EmbeddedServer;
const socketDir = () => join(dir, 'run');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'embedded-store-'));
  // A socket file left by a crashed holder must not stop the next one.
  await mkdir(socketDir(), { mode: 0o755 });
  await writeFile(embeddedSocketPath(socketDir()), '');
  server = await serveEmbeddedStore(join(dir, 'accounts'), socketDir());
  const sql = createPgClient(embeddedConnection(socketDir()), { explicitTransactions: true });
  await migrate(sql);
  await sql.close();
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

void test('the socket is 0600 in a 0700 folder', async () => {
  assert.equal((await stat(embeddedSocketPath(socketDir()))).mode & 0o777, 0o600);
  assert.equal((await stat(socketDir())).mode & 0o777, 0o700);
});

void test('any PostgreSQL client can use it: plain pg, simple and extended protocol', async () => {
  const client = new Client(embeddedConnection(socketDir()));
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM schema_migrations WHERE version = $1',
      [1],
    );
    assert.deepEqual(rows, [{ n: 1 }]);
    assert.deepEqual((await client.query<{ one: number }>('SELECT 1 AS one')).rows, [{ one: 1 }]);
  } finally {
    await client.end();
  }
});

void test('two processes’ worth of clients: concurrent writes and reads keep every answer right', async () => {
  // Two clients with pools of their own, as the worker and the admin CLI have: transactions from one, reads
  // with parameters from both at once. Without explicit transactions the socket server interleaves the
  // protocol messages of different connections (see store/pgClient.ts).
  const writer = new AccountStore(
    createPgClient(embeddedConnection(socketDir()), { explicitTransactions: true }),
  );
  const reader = new AccountStore(
    createPgClient(embeddedConnection(socketDir()), { explicitTransactions: true }),
  );
  try {
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        writer.createAccount({
          friendlyName: `concurrent ${i}`,
          deploymentKeys: [`concurrent-key-${i}-000`],
        }),
      ),
    );
    const results = await Promise.all([
      ...created.map(({ account }, i) =>
        writer.setFeatureFlag(account.accountSid, 'concurrent-flag', i % 2 === 0).then(() => true),
      ),
      ...Array.from({ length: 200 }, async (_, n) => {
        const i = n % created.length;
        const sid = await reader.resolveDeploymentKey(`concurrent-key-${i}-000`);
        const config = await reader.getAccountConfig(created[i]!.account.accountSid);
        return sid === created[i]!.account.accountSid && config?.accountSid === sid;
      }),
    ]);
    assert.equal(results.filter((ok) => !ok).length, 0);
    for (const [i, { account }] of created.entries()) {
      assert.equal(await reader.getFeatureFlag(account.accountSid, 'concurrent-flag'), i % 2 === 0);
    }
  } finally {
    await writer.close();
    await reader.close();
  }
});

void test('a second server of the same folder is refused while the first one serves', async () => {
  await assert.rejects(serveEmbeddedStore(join(dir, 'accounts'), join(dir, 'run2')), {
    name: 'StoreError',
    code: 'store_locked',
    message: new RegExp(`already open in process ${process.pid}`),
  });
});

void test('closing removes the socket; a client then gets the socket error', async () => {
  const other = await serveEmbeddedStore(null, join(dir, 'other'));
  assert.deepEqual(await probeEmbeddedStore(other.socketDir), { ok: true });
  await other.close();
  await assert.rejects(stat(embeddedSocketPath(other.socketDir)), { code: 'ENOENT' });
  assert.deepEqual(await probeEmbeddedStore(other.socketDir), { ok: false, reason: 'ENOENT' });
});

void test('an in-memory store (tests) serves itself on a socket of its own', async () => {
  const sql = await openEmbeddedClient(null);
  await migrate(sql);
  const store = new AccountStore(sql);
  const { account } = await store.createAccount({ friendlyName: 'in memory' });
  assert.equal((await store.getAccount(account.accountSid))?.friendlyName, 'in memory');
  await store.close();
});
