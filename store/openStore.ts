import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AccountStore } from './accountStore';
import { type OpenDatabaseOptions, openDatabase, type StoreDatabase } from './database';
import { migrate } from './migrations';

export type OpenStoreOptions = OpenDatabaseOptions;

/**
 * The store's database with its schema up to date: PostgreSQL when `databaseUrl` is given, else the SQLite file
 * under `dataDir`, which every process of one box opens itself (WAL: readers and one writer at once). Any number
 * of processes may have it open.
 */
export async function openMigratedDatabase(options: OpenStoreOptions): Promise<StoreDatabase> {
  const database = await openDatabase(options);
  try {
    await migrate(database);
  } catch (err) {
    await database.close();
    throw err;
  }
  return database;
}

/** Opens the account store (`openMigratedDatabase`). Close it with `store.close()`. */
export async function openStore(options: OpenStoreOptions): Promise<AccountStore> {
  return new AccountStore(await openMigratedDatabase(options));
}

/**
 * The embedded store of releases before SQLite (PGlite, `${dataDir}/accounts`): no longer read. Its accounts are
 * not carried over; docs/store.md says so, and the processes that open the store warn about it.
 */
export function legacyEmbeddedStore(dataDir: string | null): string | null {
  if (dataDir === null) return null;
  const dir = join(dataDir, 'accounts');
  return existsSync(join(dir, 'PG_VERSION')) ? dir : null;
}
