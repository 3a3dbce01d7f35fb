import { join } from 'node:path';
import { AccountStore } from './accountStore';
import { migrate } from './migrate';
import { createPgClient } from './pgClient';
import { createPgliteClient } from './pgliteClient';
import { type SqlClient } from './sqlClient';

export interface OpenStoreOptions {
  /**
   * The service's data folder (git-ignored, e.g. `.data`): the embedded database lives in `${dataDir}/accounts`.
   * `null` opens an in-memory database, for tests. Ignored when `databaseUrl` is set.
   */
  dataDir: string | null;
  /** A PostgreSQL server (`postgres://...`, the `DATABASE_URL` variable); the embedded store when absent. */
  databaseUrl?: string | undefined;
}

/**
 * Opens the account store, on PostgreSQL when `databaseUrl` is given and on embedded PGlite otherwise, and
 * brings its schema up to date. Close it with `store.close()`. A file-backed embedded store can be open in one
 * process at a time (`StoreError('store_locked')` otherwise); a server takes any number of processes.
 */
export async function openStore({ dataDir, databaseUrl }: OpenStoreOptions): Promise<AccountStore> {
  const client: SqlClient = databaseUrl
    ? createPgClient(databaseUrl)
    : await createPgliteClient(dataDir === null ? null : join(dataDir, 'accounts'));
  try {
    await migrate(client);
  } catch (err) {
    await client.close();
    throw err;
  }
  return new AccountStore(client);
}
