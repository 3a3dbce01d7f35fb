import { join } from 'node:path';
import { migrate } from './migrate';
import { createPgClient } from './pgClient';
import { createPgliteClient } from './pgliteClient';
import { SessionStore } from './sessionStore';
import { type SqlClient } from './sqlClient';

export interface OpenSessionStoreOptions {
  /** `DATABASE_URL`: the PostgreSQL server every SAS instance and the admin CLI share. */
  databaseUrl?: string | undefined;
  /**
   * Without a server: the data folder whose `sessions` folder holds the embedded store (SAS holds it while it
   * runs), or `null` for an in-memory one (tests).
   */
  dataDir: string | null;
}

/**
 * Opens the refresh and revocation state with its schema up to date: on the PostgreSQL server when
 * `databaseUrl` is set (the same database and migrations as the account store), else embedded.
 *
 * The embedded store is a PGlite folder of its own (`${dataDir}/sessions`), because the worker holds the
 * account store's folder and PGlite admits one process per folder. That keeps `make start` working on one box;
 * a fleet of SAS instances needs `DATABASE_URL`.
 */
export async function openSessionStore({
  databaseUrl,
  dataDir,
}: OpenSessionStoreOptions): Promise<SessionStore> {
  const client: SqlClient = databaseUrl
    ? createPgClient(databaseUrl)
    : await createPgliteClient(dataDir === null ? null : join(dataDir, 'sessions'));
  try {
    await migrate(client);
  } catch (err) {
    await client.close();
    throw err;
  }
  return new SessionStore(client);
}
