import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type SqlClient } from './sqlClient';

export const defaultMigrationsDir = join(__dirname, 'migrations');

export interface Migration {
  version: number;
  /** File name, e.g. `001_init.sql`. */
  name: string;
  sql: string;
  /** SHA-256 of the file (line endings normalised), to notice an applied migration edited afterwards. */
  checksum: string;
}

const fileName = /^(\d+)_[a-z0-9_]+\.sql$/;

/** Reads `NNN_name.sql` files in version order. Any other `.sql` file is a mistake and stops the load. */
export async function loadMigrations(dir: string = defaultMigrationsDir): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.sql'))) {
    const match = fileName.exec(name);
    if (!match?.[1]) throw new Error(`Migration file ${name} in ${dir} is not named like 001_snake_case.sql`);
    const sql = (await readFile(join(dir, name), 'utf8')).replace(/\r\n/g, '\n');
    const checksum = createHash('sha256').update(sql).digest('hex');
    migrations.push({ version: Number(match[1]), name, sql, checksum });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]?.version === migrations[i - 1]?.version) {
      throw new Error(`Two migrations share version ${migrations[i]?.version} in ${dir}`);
    }
  }
  return migrations;
}

// Serialises migrators that share one PostgreSQL server (several processes starting at once).
const MIGRATION_LOCK = 7_306_104_451;

/**
 * Applies, in version order, each migration not yet recorded in `schema_migrations`: one transaction per
 * migration, so a failing one leaves neither its changes nor its record behind. Safe to run on every start.
 * Returns the versions it applied.
 */
export async function migrate(client: SqlClient, dir: string = defaultMigrationsDir): Promise<number[]> {
  const migrations = await loadMigrations(dir);
  await client.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
  });

  const applied: number[] = [];
  for (const migration of migrations) {
    const ran = await client.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      const { rows } = await tx.query<{ checksum: string }>(
        'SELECT checksum FROM schema_migrations WHERE version = $1',
        [migration.version],
      );
      const recorded = rows[0];
      if (recorded) {
        if (recorded.checksum !== migration.checksum) {
          throw new Error(
            `Migration ${migration.name} was changed after it was applied; add a new migration instead`,
          );
        }
        return false;
      }
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        migration.checksum,
      ]);
      return true;
    });
    if (ran) applied.push(migration.version);
  }
  return applied;
}
