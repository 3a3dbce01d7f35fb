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
 * Opens the account store, on PostgreSQL when `databaseUrl` is given and on the embedded store otherwise, in
 * both cases through `pg` (see `embeddedClient.ts` for who serves the embedded one), and brings its schema up to
 * date. Close it with `store.close()`. Any number of processes may have it open at once.
 */
export async function openStore({ dataDir, databaseUrl }: OpenStoreOptions): Promise<AccountStore> {
  const client: SqlClient = databaseUrl ? createPgClient(databaseUrl) : await openEmbeddedClient(dataDir);
  try {
    await migrate(client);
  } catch (err) {
    await client.close();
    throw err;
  }
  return new AccountStore(client);
}
