import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadMigrations, migrate } from '../../store/migrate';
import { type SqlClient } from '../../store/sqlClient';
import { forEachBackend } from './backends';

async function tableExists(sql: SqlClient, name: string): Promise<boolean> {
  const { rows } = await sql.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [name]);
  return rows[0]?.found ?? false;
}

forEachBackend('the shipped schema', (db) => {
  let sql: SqlClient;
  before(async () => {
    sql = await db.connect();
  });
  after(async () => {
    await sql.close();
  });

  void test('applies once; a second run applies nothing', async () => {
    assert.deepEqual(await migrate(sql), [1, 2]);
    assert.deepEqual(await migrate(sql), []);
    for (const table of [
      'accounts',
      'deployment_keys',
      'feature_flags',
      'schema_migrations',
      'token_refreshes',
      'token_revocations',
    ]) {
      assert.ok(await tableExists(sql, table), table);
    }
  });

  void test('the database itself refuses what the store would refuse', async () => {
    const insert = (sensitivity: string, ttl: number) =>
      sql.query(
        `INSERT INTO accounts (account_sid, address_sid, fingerprint_sensitivity, token_ttl_seconds)
         VALUES ('AC' || md5(random()::text), 'AD' || md5(random()::text), $1, $2)`,
        [sensitivity, ttl],
      );
    await assert.rejects(insert('paranoid', 3600), { code: '23514' });
    await assert.rejects(insert('low', 59), { code: '23514' });
    await assert.rejects(insert('low', 86401), { code: '23514' });
    await insert('low', 60);
    await assert.rejects(
      sql.query(`INSERT INTO deployment_keys (key_id, account_sid, key_hash, key_prefix)
                 VALUES ('DK' || md5('x'), 'AC' || md5('no such account'), sha256('k'), 'k')`),
      { code: '23503' },
    );
  });
});

forEachBackend('the runner', (db) => {
  let sql: SqlClient;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'migrations-'));
    sql = await db.connect();
  });
  after(async () => {
    await sql.close();
    await rm(dir, { recursive: true, force: true });
  });

  // These build on each other, in order, on one database and one migrations folder.
  void test('applies numbered files in order, each once', async () => {
    await writeFile(join(dir, '002_second.sql'), 'ALTER TABLE first ADD COLUMN b int;');
    await writeFile(join(dir, '001_first.sql'), 'CREATE TABLE first (a int);\nINSERT INTO first VALUES (1);');
    await writeFile(join(dir, 'README.md'), 'not a migration');
    assert.deepEqual(await migrate(sql, dir), [1, 2]);
    assert.deepEqual(await migrate(sql, dir), []);
    assert.deepEqual((await sql.query('SELECT a, b FROM first')).rows, [{ a: 1, b: null }]);
  });

  void test('a failing migration leaves neither its changes nor its record', async () => {
    await writeFile(join(dir, '003_broken.sql'), 'CREATE TABLE third (a int);\nSELECT 1 / 0;');
    await assert.rejects(migrate(sql, dir), { code: '22012' });
    assert.equal(await tableExists(sql, 'third'), false);
    const { rows } = await sql.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY 1');
    assert.deepEqual(
      rows.map((r) => r.version),
      [1, 2],
    );

    await writeFile(join(dir, '003_broken.sql'), 'CREATE TABLE third (a int);');
    assert.deepEqual(await migrate(sql, dir), [3]);
    assert.ok(await tableExists(sql, 'third'));
  });

  void test('a migration and its record commit together', async () => {
    // The script succeeds but recording it fails (the version is taken): the script's changes must go too.
    await writeFile(
      join(dir, '004_records_itself.sql'),
      "CREATE TABLE fourth (a int);\nINSERT INTO schema_migrations (version, name, checksum) VALUES (4, 'x', 'x');",
    );
    await assert.rejects(migrate(sql, dir), { code: '23505' });
    assert.equal(await tableExists(sql, 'fourth'), false);
    const { rows } = await sql.query('SELECT 1 FROM schema_migrations WHERE version = 4');
    assert.deepEqual(rows, []);
    await rm(join(dir, '004_records_itself.sql'));
  });

  // PGlite is one process: only a server has migrators that race.
  if (db.name === 'PostgreSQL') {
    void test('migrators starting together on one server apply each migration once', async () => {
      await writeFile(join(dir, '005_fifth.sql'), 'CREATE TABLE fifth (a int);');
      const clients = await Promise.all([db.connect(), db.connect(), db.connect()]);
      try {
        const applied = await Promise.all(clients.map((c) => migrate(c, dir)));
        assert.deepEqual(applied.flat(), [5]);
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
    });
  }

  void test('an applied migration edited afterwards stops the run', async () => {
    await writeFile(join(dir, '001_first.sql'), 'CREATE TABLE first (a bigint);');
    await assert.rejects(migrate(sql, dir), /001_first\.sql was changed after it was applied/);
  });
});

void describe('loading migration files', () => {
  void test('a misnamed .sql file is an error, not silently skipped', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'migrations-bad-'));
    try {
      await writeFile(join(bad, 'init.sql'), 'SELECT 1;');
      await assert.rejects(loadMigrations(bad), /init\.sql .* is not named like 001_snake_case\.sql/);
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });

  void test('two files with one version is an error', async () => {
    const dup = await mkdtemp(join(tmpdir(), 'migrations-dup-'));
    try {
      await writeFile(join(dup, '001_a.sql'), 'SELECT 1;');
      await writeFile(join(dup, '01_b.sql'), 'SELECT 1;');
      await assert.rejects(loadMigrations(dup), /Two migrations share version 1/);
    } finally {
      await rm(dup, { recursive: true, force: true });
    }
  });

  void test('the shipped folder holds 001_init.sql and 002_sessions.sql', async () => {
    assert.deepEqual(
      (await loadMigrations()).map((m) => [m.version, m.name]),
      [
        [1, '001_init.sql'],
        [2, '002_sessions.sql'],
      ],
    );
  });
});
