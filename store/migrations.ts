import {
  type CreateTableBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  sql,
} from 'kysely';
import type { StoreDatabase, StoreDialect } from './database';

/**
 * The store's schema, one migration list for SQLite and PostgreSQL, applied by Kysely's `Migrator` by every
 * process that opens the store (worker, SAS, admin CLI): safe on every start and from several processes at once
 * (PostgreSQL: an advisory lock; SQLite: the migration's transaction takes the file's write lock first, see
 * store/database.ts, and re-reads what was applied under it, so the loser finds nothing left to do).
 *
 * A migration, once released, never changes: add the next one. Input rules a CHECK could only express with a
 * regex (SID formats, flag names, origins) live in the zod schemas of store/accountInput.ts, which every write
 * goes through; CHECKs here hold what both dialects can say (lengths, ranges, enumerations).
 */
export function storeMigrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    '001_schema': {
      up: async (db) => {
        const legacy = dialect === 'postgres' && (await hasLegacySchema(db));
        if (legacy) await copyOutLegacy(db);
        await createSchema(db, dialect);
        if (legacy) await copyInLegacy(db);
      },
    },
    // Fingerprint guessing: a session whose refreshes keep presenting another browser's fingerprint is
    // revoked after a few (services/scoped-auth/rotateToken.ts); every SAS instance counts in this table.
    '002_session_strikes': {
      up: async (db) => {
        await db.schema
          .createTable('session_strikes')
          .addColumn('session_id', 'text', (c) => c.primaryKey().check(sql`length(session_id) = 36`))
          .addColumn('strikes', 'integer', (c) => c.notNull().check(sql`strikes > 0`))
          // When the session can no longer refresh: then the row can go.
          .addColumn('expires_at', dialect === 'postgres' ? 'bigint' : 'integer', (c) => c.notNull())
          .$call((t) => (dialect === 'sqlite' ? t.modifyEnd(sql`strict`) : t))
          .execute();
        await db.schema
          .createIndex('session_strikes_expires_at_idx')
          .on('session_strikes')
          .column('expires_at')
          .execute();
      },
    },
    // Key binding (DPoP): whether an account's tokens are bound to a key the visitor's browser holds.
    '003_key_binding': {
      up: async (db) => {
        await db.schema
          .alterTable('accounts')
          .addColumn('key_binding', 'text', (c) =>
            c
              .notNull()
              .defaultTo('off')
              .check(sql`key_binding in ('off', 'optional', 'required')`),
          )
          .execute();
      },
    },
  };
}

/** Applies every pending migration (of `migrations`: the store's); returns the names of those it applied. */
export async function migrate(
  database: StoreDatabase,
  migrations: Record<string, Migration> = storeMigrations(database.dialect),
): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations) };
  const migrator = new Migrator({
    db: database.db,
    provider,
    // Kysely looks for its tables in every schema of a PostgreSQL database unless told which one: name the
    // search path's, so that deployments (and tests) in other schemas of one database never see each other's.
    ...(database.dialect === 'postgres' && { migrationTableSchema: await currentSchema(database.db) }),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(JSON.stringify(error));
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any database: the schema query names no table
async function currentSchema(db: Kysely<any>): Promise<string> {
  const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
  const schema = rows[0]?.schema;
  if (!schema) throw new Error('The PostgreSQL search path names no existing schema for the store');
  return schema;
}

async function createSchema(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  // Times in milliseconds since the epoch; bytes; SQLite tables STRICT, so a value of the wrong type is refused.
  const bigint = dialect === 'postgres' ? 'bigint' : 'integer';
  const bytes = dialect === 'postgres' ? 'bytea' : 'blob';
  const strict = <T extends CreateTableBuilder<string, never>>(table: T): T =>
    dialect === 'sqlite' ? (table.modifyEnd(sql`strict`) as T) : table;

  await db.schema
    .createTable('accounts')
    .addColumn('account_sid', 'text', (c) =>
      c.primaryKey().check(sql`length(account_sid) = 34 and substr(account_sid, 1, 2) = 'AC'`),
    )
    .addColumn('friendly_name', 'text', (c) =>
      c
        .notNull()
        .defaultTo('')
        .check(sql`length(friendly_name) <= 256`),
    )
    .addColumn('address_sid', 'text', (c) =>
      c.notNull().check(sql`length(address_sid) = 34 and substr(address_sid, 1, 2) = 'AD'`),
    )
    // A JSON array of exact origins or wildcard subdomains, normalised by the store; `[]` means any origin.
    .addColumn('allowed_origins', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('fingerprint_sensitivity', 'text', (c) =>
      c.notNull().check(sql`fingerprint_sensitivity in ('low', 'medium', 'high')`),
    )
    .addColumn('token_ttl_seconds', 'integer', (c) =>
      c.notNull().check(sql`token_ttl_seconds between 60 and 86400`),
    )
    // Null: the service default (SAS's SESSION_MAX_AGE_S).
    .addColumn('session_max_age_seconds', 'integer', (c) =>
      c.check(sql`session_max_age_seconds between 60 and 31536000`),
    )
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .$call(strict)
    .execute();

  // Keys are stored only as SHA-256 hashes; the plaintext is shown once, when the key is created.
  await db.schema
    .createTable('deployment_keys')
    .addColumn('key_id', 'text', (c) =>
      c.primaryKey().check(sql`length(key_id) = 34 and substr(key_id, 1, 2) = 'DK'`),
    )
    .addColumn('account_sid', 'text', (c) =>
      c.notNull().references('accounts.account_sid').onDelete('cascade'),
    )
    .addColumn('key_hash', bytes, (c) =>
      c
        .notNull()
        .unique()
        .check(sql`length(key_hash) = 32`),
    )
    // The first 8 characters, so an operator can tell keys apart without the key.
    .addColumn('key_prefix', 'text', (c) => c.notNull().check(sql`length(key_prefix) <= 8`))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('revoked_at', bigint)
    .$call(strict)
    .execute();
  await db.schema
    .createIndex('deployment_keys_account_sid_idx')
    .on('deployment_keys')
    .column('account_sid')
    .execute();

  await db.schema
    .createTable('feature_flags')
    .addColumn('account_sid', 'text', (c) =>
      c.notNull().references('accounts.account_sid').onDelete('cascade'),
    )
    .addColumn('flag', 'text', (c) => c.notNull().check(sql`length(flag) between 1 and 64`))
    .addColumn('enabled', 'integer', (c) => c.notNull().check(sql`enabled in (0, 1)`))
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('feature_flags_pkey', ['account_sid', 'flag'])
    .$call(strict)
    .execute();

  // Token sessions: which tokens were refreshed (refresh rotation with reuse detection, RFC 9700 §4.14.2) and
  // which were revoked. SAS reads both on every validate and refresh; issuance never touches them. Every row
  // carries expires_at, the moment no token it covers can still be valid, and SAS prunes the rows past it.

  // One row per token that was refreshed: the primary key is what makes a second refresh of the same token lose.
  await db.schema
    .createTable('token_refreshes')
    .addColumn('parent_jti', 'text', (c) => c.primaryKey().check(sql`length(parent_jti) = 36`))
    .addColumn('session_id', 'text', (c) => c.notNull().check(sql`length(session_id) = 36`))
    // SHA-256 of the refreshing browser's fingerprint (of '' when unbound): a retry must come from the same one.
    .addColumn('requester', bytes, (c) => c.notNull().check(sql`length(requester) = 32`))
    // The successor token, AES-256-GCM under a key derived from the parent token: useless without the parent.
    .addColumn('successor', bytes, (c) => c.notNull())
    .addColumn('refreshed_at', bigint, (c) => c.notNull())
    // The parent token's expiry: after it the parent cannot be presented again.
    .addColumn('expires_at', bigint, (c) => c.notNull())
    .$call(strict)
    .execute();
  await db.schema
    .createIndex('token_refreshes_expires_at_idx')
    .on('token_refreshes')
    .column('expires_at')
    .execute();

  // kind 'session' (subject: sid claim) and 'identity' (identity claim) cover every token of theirs;
  // kind 'account' (subject: account SID) covers the account's tokens issued at or before issued_before.
  await db.schema
    .createTable('token_revocations')
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('session', 'identity', 'account')`))
    .addColumn('subject', 'text', (c) => c.notNull().check(sql`length(subject) <= 64`))
    .addColumn('issued_before', bigint)
    .addColumn('revoked_at', bigint, (c) => c.notNull())
    // The latest expiry of a token it covers: revoked_at plus the longest token lifetime.
    .addColumn('expires_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('token_revocations_pkey', ['kind', 'subject'])
    .addCheckConstraint(
      'token_revocations_issued_before_check',
      sql`(kind = 'account') = (issued_before is not null)`,
    )
    .$call(strict)
    .execute();
  await db.schema
    .createIndex('token_revocations_expires_at_idx')
    .on('token_revocations')
    .column('expires_at')
    .execute();
}

/**
 * A PostgreSQL store made before the Kysely migrations: tables of `001_init.sql` and `002_sessions.sql`, recorded
 * in `schema_migrations`. Its rows are carried over to the portable schema (text[] to JSON text, timestamptz to
 * milliseconds, boolean to 0/1, uuid to text), in the migration's one transaction.
 */
async function hasLegacySchema(db: Kysely<unknown>): Promise<boolean> {
  const { rows } = await sql<{
    table: string | null;
  }>`select to_regclass('schema_migrations')::text as table`.execute(db);
  if (!rows[0]?.table) return false;
  const applied = await sql<{
    version: number;
  }>`select version from schema_migrations order by version`.execute(db);
  const versions = applied.rows.map((r) => Number(r.version)).join(',');
  if (versions !== '1,2') {
    throw new Error(
      `The store's legacy schema is at versions [${versions}]; only a store at [1,2] can be carried over`,
    );
  }
  return true;
}

const ms = (column: string) => sql.raw(`(extract(epoch from ${column}) * 1000)::bigint`);

async function copyOutLegacy(db: Kysely<unknown>): Promise<void> {
  const copies = [
    sql`create temporary table legacy_accounts on commit drop as
        select account_sid, friendly_name, address_sid, array_to_json(allowed_origins)::text as allowed_origins,
               fingerprint_sensitivity, token_ttl_seconds, session_max_age_seconds,
               ${ms('created_at')} as created_at, ${ms('updated_at')} as updated_at
        from accounts`,
    sql`create temporary table legacy_deployment_keys on commit drop as
        select key_id, account_sid, key_hash, key_prefix, ${ms('created_at')} as created_at,
               ${ms('revoked_at')} as revoked_at
        from deployment_keys`,
    sql`create temporary table legacy_feature_flags on commit drop as
        select account_sid, flag, enabled::integer as enabled, ${ms('updated_at')} as updated_at
        from feature_flags`,
    sql`create temporary table legacy_token_refreshes on commit drop as
        select parent_jti::text as parent_jti, session_id::text as session_id, requester, successor,
               ${ms('refreshed_at')} as refreshed_at, ${ms('expires_at')} as expires_at
        from token_refreshes`,
    sql`create temporary table legacy_token_revocations on commit drop as
        select kind, subject, ${ms('issued_before')} as issued_before, ${ms('revoked_at')} as revoked_at,
               ${ms('expires_at')} as expires_at
        from token_revocations`,
    sql`drop table token_revocations, token_refreshes, feature_flags, deployment_keys, accounts, schema_migrations`,
  ];
  for (const statement of copies) await statement.execute(db);
}

async function copyInLegacy(db: Kysely<unknown>): Promise<void> {
  // Parents before children, for the foreign keys.
  for (const table of [
    'accounts',
    'deployment_keys',
    'feature_flags',
    'token_refreshes',
    'token_revocations',
  ]) {
    await sql`insert into ${sql.table(table)} select * from ${sql.table(`legacy_${table}`)}`.execute(db);
    await sql`drop table ${sql.table(`legacy_${table}`)}`.execute(db);
  }
}
