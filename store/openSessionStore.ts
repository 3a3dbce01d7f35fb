import { openEmbeddedClient } from './embeddedClient';
import { migrate } from './migrate';
import { createPgClient } from './pgClient';
import { SessionStore } from './sessionStore';
import { type SqlClient } from './sqlClient';

export interface OpenSessionStoreOptions {
  /** `DATABASE_URL`: the PostgreSQL server every SAS instance and the admin CLI share. */
  databaseUrl?: string | undefined;
  /** Without a server: the data folder of the embedded store (`null`: a fresh in-memory one, for tests). */
  dataDir: string | null;
}

/**
 * Opens the refresh and revocation state with its schema up to date: the same database and migrations as the
 * account store, on the PostgreSQL server when `databaseUrl` is set, else the embedded store, reached over the
 * PostgreSQL wire protocol like every other process does (store/embeddedClient.ts), so SAS and the admin CLI
 * share it while `make start` runs.
 */
export async function openSessionStore({
  databaseUrl,
  dataDir,
}: OpenSessionStoreOptions): Promise<SessionStore> {
  const client: SqlClient = databaseUrl ? createPgClient(databaseUrl) : await openEmbeddedClient(dataDir);
  try {
    await migrate(client);
  } catch (err) {
    await client.close();
    throw err;
  }
  return new SessionStore(client);
}
