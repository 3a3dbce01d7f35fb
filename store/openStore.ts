import { AccountStore } from './accountStore';
import { openEmbeddedClient } from './embeddedClient';
import { migrate } from './migrate';
import { createPgClient } from './pgClient';
import { type SqlClient } from './sqlClient';

export interface OpenStoreOptions {
  /**
   * The service's data folder (git-ignored, e.g. `.data`): the embedded database lives in `${dataDir}/accounts`,
   * its socket in `${dataDir}/run`. `null` opens an in-memory database, for tests. Ignored when `databaseUrl` is
   * set.
   */
  dataDir: string | null;
  /** A PostgreSQL server (`postgres://...`, the `DATABASE_URL` variable); the embedded store when absent. */
  databaseUrl?: string | undefined;
}

/**
 * A client of the store's database with its schema up to date: on PostgreSQL when `databaseUrl` is given and
 * on the embedded store otherwise, in both cases through `pg` (see `embeddedClient.ts` for who serves the
 * embedded one). Any number of processes may have it open at once.
 */
export async function openMigratedClient({ dataDir, databaseUrl }: OpenStoreOptions): Promise<SqlClient> {
  const client: SqlClient = databaseUrl ? createPgClient(databaseUrl) : await openEmbeddedClient(dataDir);
  try {
    await migrate(client);
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}

/** Opens the account store (`openMigratedClient`). Close it with `store.close()`. */
export async function openStore(options: OpenStoreOptions): Promise<AccountStore> {
  return new AccountStore(await openMigratedClient(options));
}
