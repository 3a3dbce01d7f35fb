import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Kysely, sql } from 'kysely';
import { Client } from 'pg';
import { WEBCHAT_SECURITY_FLAG } from '../../domain/contracts';
import { AccountStore } from '../../store/accountStore';
import { hashKey } from '../../store/accountRecords';
import { openDatabase, type StoreDatabase } from '../../store/database';
import { migrate, storeMigrations } from '../../store/migrations';
import { openMigratedDatabase } from '../../store/openStore';
import { SessionStore } from '../../store/sessionStore';
import { createTestSchema, postgresUnavailable, type TestSchema } from '../helpers/testDatabase';
import { forEachBackend } from './backends';
import { flagOf } from '../helpers/storeReads';

const storeTables = [
  'accounts',
  'deployment_keys',
  'feature_flags',
  'session_strikes',
  'token_refreshes',
  'token_revocations',
];
const shipped = ['001_schema', '002_session_strikes', '003_key_binding'];

async function tableNames(database: StoreDatabase): Promise<string[]> {
  const schema =
    database.dialect === 'postgres'
      ? (await sql<{ s: string }>`select current_schema() as s`.execute(database.db)).rows[0]?.s
      : undefined;
  return (await database.db.introspection.getTables({ withInternalKyselyTables: true }))
    .filter((t) => t.schema === schema)
    .map((t) => t.name)
    .sort();
}

/** The error code each backend gives a violated CHECK or foreign key. */
const violation = {
  SQLite: { check: 'SQLITE_CONSTRAINT_CHECK', foreignKey: 'SQLITE_CONSTRAINT_FOREIGNKEY' },
  PostgreSQL: { check: '23514', foreignKey: '23503' },
} as const;

forEachBackend('the shipped schema', (db) => {
  let database: StoreDatabase;
  before(async () => {
    database = await db.connect();
  });
  after(async () => {
    await database.close();
  });

  void test('the migration list is one portable schema, applied once; a second run applies nothing', async () => {
    assert.deepEqual(Object.keys(storeMigrations('sqlite')), shipped);
    assert.deepEqual(Object.keys(storeMigrations('postgres')), shipped);
    assert.deepEqual(await migrate(database), shipped);
    assert.deepEqual(await migrate(database), []);
    assert.deepEqual(
      await tableNames(database),
      [...storeTables, 'kysely_migration', 'kysely_migration_lock'].sort(),
    );
  });

  void test('the database itself refuses what both dialects can check', async () => {
    const account = (sensitivity: string, ttl: number) =>
      database.db
        .insertInto('accounts')
        .values({
          account_sid: `AC${randomUUID().replace(/-/g, '')}`,
          address_sid: `AD${randomUUID().replace(/-/g, '')}`,
          allowed_origins: '[]',
          fingerprint_sensitivity: sensitivity,
          token_ttl_seconds: ttl,
          created_at: 0,
          updated_at: 0,
        })
        .execute();
    const codes = violation[db.name];
    await assert.rejects(account('paranoid', 3600), { code: codes.check });
    await assert.rejects(account('low', 59), { code: codes.check });
    await assert.rejects(account('low', 86401), { code: codes.check });
    await account('low', 60);
    await assert.rejects(
      database.db
        .insertInto('deployment_keys')
        .values({
          key_id: `DK${'0'.repeat(32)}`,
          account_sid: `AC${'f'.repeat(32)}`,
          key_hash: hashKey('k'),
          key_prefix: 'k',
          created_at: 0,
        })
        .execute(),
      { code: codes.foreignKey },
    );
  });

  void test('a migration that fails leaves nothing behind, and the next run applies it again', async () => {
    const fresh = await db.connect();
    try {
      const table = `half_${randomUUID().slice(0, 8)}`;
      let fail = true;
      const migrations = {
        ...storeMigrations(fresh.dialect),
        [`999_${table}`]: {
          up: async (kysely: Kysely<unknown>) => {
            await kysely.schema.createTable(table).addColumn('a', 'integer').execute();
            if (fail) throw new Error('the second half failed');
          },
        },
      };
      await assert.rejects(migrate(fresh, migrations), /the second half failed/);
      assert.equal((await tableNames(fresh)).includes(table), false, 'the first half was rolled back');
      fail = false;
      assert.deepEqual(await migrate(fresh, migrations), [`999_${table}`]);
      assert.ok((await tableNames(fresh)).includes(table));
    } finally {
      await fresh.close();
    }
  });

  void test('migrators starting together on a new database apply the schema once', async () => {
    // Four connections to one new database, as four processes starting at once (SQLite: one new file).
    const fresh =
      db.name === 'SQLite'
        ? { options: { dataDir: join(db.options.dataDir ?? '', 'racing') }, drop: async () => {} }
        : await createTestSchema('race').then((s) => ({
            options: { dataDir: null, databaseUrl: s.url },
            drop: () => s.drop(),
          }));
    const openers = await Promise.all([1, 2, 3, 4].map(() => openDatabase(fresh.options)));
    try {
      const applied = await Promise.all(openers.map((o) => migrate(o)));
      assert.deepEqual(applied.flat().sort(), shipped);
    } finally {
      await Promise.all(openers.map((o) => o.close()));
      await fresh.drop();
    }
  });
});

/**
 * A PostgreSQL store made by the migrations of the releases before Kysely (test/fixtures/legacy-store: the
 * shipped `001_init.sql` and `002_sessions.sql`, recorded in `schema_migrations` as their runner did), with rows
 * in every table: the migration carries every row over.
 */
void describe('a PostgreSQL store of the previous release', { skip: postgresUnavailable() ?? false }, () => {
  let schema: TestSchema;
  let pg: Client;
  const fixtures = join(__dirname, '..', 'fixtures', 'legacy-store');
  const SID = 'AC0000000000000000000000000000beef';
  const SID2 = 'AC0000000000000000000000000000cafe';
  const session = randomUUID();
  const parent = randomUUID();
  const identity = randomUUID();

  before(async () => {
    schema = await createTestSchema('legacy');
    pg = new Client({ connectionString: schema.url });
    await pg.connect();
    await pg.query(`CREATE TABLE schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    for (const [version, name] of [
      [1, '001_init.sql'],
      [2, '002_sessions.sql'],
    ] as const) {
      await pg.query(await readFile(join(fixtures, name), 'utf8'));
      await pg.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        version,
        name,
        'x',
      ]);
    }
    await pg.query(
      `INSERT INTO accounts (account_sid, friendly_name, address_sid, allowed_origins, fingerprint_sensitivity,
         token_ttl_seconds, session_max_age_seconds, created_at, updated_at)
       VALUES ($1, 'Legacy shop', 'AD0000000000000000000000000000beef', '{https://shop.example.com,https://*.example.com}',
         'high', 900, 7200, '2026-01-02T03:04:05.678Z', '2026-02-03T04:05:06.789Z'),
              ($2, '', 'AD0000000000000000000000000000cafe', '{}', 'low', 3600, NULL, now(), now())`,
      [SID, SID2],
    );
    await pg.query(
      `INSERT INTO deployment_keys (key_id, account_sid, key_hash, key_prefix, created_at, revoked_at) VALUES
         ('DK000000000000000000000000000000a1', $1, sha256('legacy-live-key-1'), 'legacy-l', '2026-01-02T03:04:06Z', NULL),
         ('DK000000000000000000000000000000a2', $1, sha256('legacy-gone-key-2'), 'legacy-g', '2026-01-02T03:04:07Z', '2026-03-01T00:00:00Z')`,
      [SID],
    );
    await pg.query(
      `INSERT INTO feature_flags (account_sid, flag, enabled) VALUES ($1, 'webchat-security', true), ($2, 'webchat-security', false)`,
      [SID, SID2],
    );
    const future = new Date(Date.now() + 3600_000);
    await pg.query(
      `INSERT INTO token_refreshes (parent_jti, session_id, requester, successor, refreshed_at, expires_at)
       VALUES ($1, $2, sha256('browser'), '\\x0102030405', now(), $3)`,
      [parent, session, future],
    );
    await pg.query(
      `INSERT INTO token_revocations (kind, subject, issued_before, revoked_at, expires_at) VALUES
         ('identity', $1, NULL, now(), $3), ('account', $2, '2026-06-01T00:00:00Z', now(), $3)`,
      [identity, SID2, future],
    );
  });
  after(async () => {
    await pg.end();
    await schema.drop();
  });

  void test('every row is carried over to the portable schema, and the legacy bookkeeping goes', async () => {
    const database = await openMigratedDatabase({ dataDir: null, databaseUrl: schema.url });
    const store = new AccountStore(database);
    try {
      assert.deepEqual(
        await tableNames(database),
        [...storeTables, 'kysely_migration', 'kysely_migration_lock'].sort(),
      );
      assert.deepEqual(await store.getAccount(SID), {
        accountSid: SID,
        friendlyName: 'Legacy shop',
        addressSid: 'AD0000000000000000000000000000beef',
        allowedOrigins: ['https://shop.example.com', 'https://*.example.com'],
        deploymentKeys: ['DK000000000000000000000000000000a1'],
        fingerprintSensitivity: 'high',
        tokenTtlSeconds: 900,
        sessionMaxAgeSeconds: 7200,
        keyBinding: 'off',
        featureFlags: { [WEBCHAT_SECURITY_FLAG]: true },
        createdAt: new Date('2026-01-02T03:04:05.678Z'),
        updatedAt: new Date('2026-02-03T04:05:06.789Z'),
      });
      assert.deepEqual(
        (await store.readByDeploymentKey('legacy-live-key-1', WEBCHAT_SECURITY_FLAG))?.flagEnabled,
        true,
      );
      assert.equal(await store.readByDeploymentKey('legacy-gone-key-2', WEBCHAT_SECURITY_FLAG), null);
      const keys = await store.listDeploymentKeys(SID);
      assert.deepEqual(
        keys.map((k) => [k.keyId, k.revokedAt?.toISOString() ?? null]),
        [
          ['DK000000000000000000000000000000a1', null],
          ['DK000000000000000000000000000000a2', '2026-03-01T00:00:00.000Z'],
        ],
      );
      assert.deepEqual((await store.getAccount(SID2))?.allowedOrigins, []);
      assert.equal(await flagOf(store, SID2, WEBCHAT_SECURITY_FLAG), false);

      const sessions = new SessionStore(database);
      const claim = await sessions.claimRefresh({
        parentJti: parent,
        sessionId: session,
        requester: hashKey('other'),
        successor: Buffer.from('new'),
        refreshedAt: new Date(),
        expiresAt: new Date(Date.now() + 3600_000),
      });
      assert.equal(claim.won, false, 'the recorded refresh still decides');
      assert.deepEqual(
        claim.won ? null : Buffer.from(claim.existing.successor),
        Buffer.from([1, 2, 3, 4, 5]),
      );
      const now = new Date();
      const subject = (over: object) => ({
        sessionId: randomUUID(),
        identity: randomUUID(),
        accountSid: SID,
        issuedAt: 0,
        ...over,
      });
      assert.equal(await sessions.isRevoked(subject({ identity }), now), true);
      assert.equal(
        await sessions.isRevoked(
          subject({ accountSid: SID2, issuedAt: Date.parse('2026-05-01T00:00:00Z') / 1000 }),
          now,
        ),
        true,
      );
      assert.equal(
        await sessions.isRevoked(
          subject({ accountSid: SID2, issuedAt: Date.parse('2026-07-01T00:00:00Z') / 1000 }),
          now,
        ),
        false,
      );
      assert.deepEqual(await migrate(database), []);
    } finally {
      await store.close();
    }
  });
});
